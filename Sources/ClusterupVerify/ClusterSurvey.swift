import ClusterupCore
import ClusterupSSH
import Foundation

/// Runs the survey script on every host at once (FanOut: one dedicated thread per host).
public enum ClusterSurvey {
    public static func script(for host: InventoryHost, inventory: Inventory) -> String {
        let backend = inventory.vrrp?.backend
        return HostSurvey.script(
            units: ExpectedServices.units(for: host, backend: backend),
            haproxy: host.roles.contains(.lb),
            etcdctl: host.roles.contains(.etcd) ? (inventory.deploy.artifact("etcdctl")?.path ?? "etcdctl") : nil,
            vrrpd: host.roles.contains(.lb) && backend == .clusterupVRRPD,
            etcdBackupDirectory: host.roles.contains(.etcd) ? inventory.deploy.etcd.backupDirectory : nil)
    }

    public static func run(
        _ hosts: [InventoryHost], inventory: Inventory, connector: HostConnector, fanOut: FanOut,
        progress: (@Sendable (ProgressEvent) -> Void)? = nil
    ) async -> [(host: InventoryHost, survey: Result<HostSurvey, ClusterupError>)] {
        let results = await fanOut.run(hosts, initialStep: "connecting", progress: progress) { host, reporter in
            let connection = try connector.connect(host)
            defer { connection.close() }
            reporter.step("surveying")
            let result = try connection.run(script(for: host, inventory: inventory), sudo: true, timeout: 30)
            return HostSurvey.parse(result.stdoutText)
        }
        return zip(hosts, results).map { host, result in
            if let value = result.value { return (host, .success(value)) }
            let error = result.error.map { ($0 as? ClusterupError) ?? .remote(String(describing: $0), host: host.name) }
                ?? .remote("skipped", host: host.name)
            return (host, .failure(error))
        }
    }
}
