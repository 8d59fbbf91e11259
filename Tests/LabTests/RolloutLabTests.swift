import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupRollout
import ClusterupSSH
import ClusterupVerify
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// The rollout mechanism against a deployed 3-node lab: while the availability watch probes the
/// VIP, BackendDrain drains one apiserver on every HAProxy, the apiserver on that host restarts,
/// and it is taken back once its /readyz answers. No client through the VIP may notice. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab, deploys onto it and restarts an apiserver under probes"))
struct RolloutLabTests {
    struct Observed: Sendable {
        var report: AvailabilityReport
        var outcomes: [RollingHosts.Outcome]
        var statusWhileDrained: [String: HAProxyRuntime.ServerStat]
        var pidBefore: String
        var pidAfter: String
        var statusAfter: [String: HAProxyRuntime.ServerStat]
    }

    @Test func drainingAnAPIServerAroundItsRestartCostsNoProbeThroughTheVIP() async throws {
        try await DeployedLab.run("uproll") { path in
            let inventory = try InventoryLoader().load(path: path)
            let connector = try HostConnector.load(for: inventory, acceptNewHostKeys: false)
            let vip = try #require(inventory.vip)
            let target = try #require(inventory.hosts(withRole: .controlPlane).dropFirst().first)
            let observed = try await DedicatedThread.run(name: "rollout-lab") { () throws -> Observed in
                let connections = try FailoverRunner.connectAll(inventory.hosts, connector: connector)
                defer { connections.values.forEach { $0.close() } }
                let balancers = Dictionary(uniqueKeysWithValues: inventory.hosts(withRole: .lb).map { ($0.name, connections[$0.name]! as any RemoteShell) })
                let shell = connections[target.name]!
                let drain = BackendDrain(balancers: balancers)
                let watch = AvailabilityWatch(.init(target: ProbeTarget(host: vip.address, port: vip.port),
                                                    readyz: HTTPSProbe(caFile: inventory.pki.directory + "/ca.crt")))
                try watch.start()
                let rolling = RollingHosts(watch: watch, drain: drain, progress: { print("rollout: \($0)") })
                let pid = "systemctl show -p MainPID --value kube-apiserver.service"
                let before = try RolloutCommand.run(shell, pid).trimmingCharacters(in: .whitespacesAndNewlines)
                let whileDrained = Locked<[String: HAProxyRuntime.ServerStat]>([:])
                let outcomes: [RollingHosts.Outcome]
                do {
                    outcomes = try rolling.run(
                        [RollingStep(host: target.name, name: "kube-apiserver restart", guarding: .drainAPIServer)],
                        action: { step in
                            let seen = try drain.stats(step.host)
                            whileDrained.withLock { $0 = seen }
                            try RolloutCommand.run(shell, "systemctl restart kube-apiserver.service")
                        },
                        ready: { _ in try APIServerReady.wait(target, connection: shell, timeout: .seconds(60)) })
                } catch {
                    _ = watch.finish()
                    throw error
                }
                // Half a second more under probes: a backend taken back too early would fail here.
                Thread.sleep(forTimeInterval: 0.5)
                let report = watch.finish()
                let after = try RolloutCommand.run(shell, pid).trimmingCharacters(in: .whitespacesAndNewlines)
                return Observed(report: report, outcomes: outcomes, statusWhileDrained: whileDrained.withLock { $0 },
                                pidBefore: before, pidAfter: after, statusAfter: try drain.stats(target.name))
            }
            print(observed.report.lines.joined(separator: "\n"))
            // Every HAProxy had the server in DRAIN when the apiserver restarted, and UP after.
            #expect(observed.statusWhileDrained.count == 3)
            #expect(observed.statusWhileDrained.values.allSatisfy { $0.status == "DRAIN" }, "\(observed.statusWhileDrained)")
            #expect(observed.statusAfter.values.allSatisfy { $0.status == "UP" }, "\(observed.statusAfter)")
            // The apiserver really restarted.
            #expect(observed.pidBefore != "0" && observed.pidAfter != "0" && observed.pidBefore != observed.pidAfter)
            // One step, probed throughout, nothing failed.
            let step = try #require(observed.report.steps.first)
            #expect(observed.report.steps.count == 1 && step.host == target.name)
            #expect((step.tcp?.probes ?? 0) > 0 && (step.readyz?.probes ?? 0) > 0)
            #expect(observed.report.tcp?.failed == 0, "\(observed.report.lines)")
            #expect(observed.report.readyz?.failed == 0, "\(observed.report.lines)")
            #expect(observed.outcomes.first?.notes.contains("undrained: every HAProxy reports it UP") == true)
        }
    }
}
