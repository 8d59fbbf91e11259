import ClusterupCore
import ClusterupDeploy
import ClusterupPKI
import ClusterupRollout
import ClusterupSSH
import ClusterupVerify
import Foundation

/// Installs changed files of the local PKI on the hosts that hold them (exactly those files), then
/// restarts the services that do not reload them by themselves one host at a time with the shared
/// rollout: etcd with its leadership moved away first, kube-apiserver drained on every HAProxy, all
/// under the availability watch through the VIP. Used by `certs renew --deploy` and `certs rotate-ca`.
struct PKIRollout: Sendable {
    struct Outcome: Sendable {
        var placements: [PKIFilePlacement]
        /// `host: units` per restart step, in order.
        var restarted: [String]
        var availability: AvailabilityReport?
    }

    let inventory: Inventory
    let connector: HostConnector
    let healthTimeout: Duration
    let progress: @Sendable (String) -> Void

    /// `onlyHosts`: install on these hosts only (a resumed rotation phase skips the hosts done).
    /// `onHostDone`: called once a host has its files and its restarts are over (guards taken down),
    /// so a caller can record it before the next host is touched.
    func run(changed: Set<String>, plan: PKIPlan, directory: PKIDirectory, onlyHosts: Set<String>? = nil,
             onHostDone: @escaping @Sendable (String) throws -> Void = { _ in }) async throws -> Outcome {
        let targets = inventory.hosts.filter { onlyHosts?.contains($0.name) ?? true }
        let placements = PKIFilePlacement.placements(of: changed, plan: plan, hosts: targets)
        guard !placements.isEmpty else { return Outcome(placements: [], restarted: [], availability: nil) }
        let steps = Self.steps(placements, inventory: inventory)
        let (inventory, connector, timeout, progress) = (inventory, connector, healthTimeout, progress)
        return try await DedicatedThread.run(name: "pki-rollout") { () throws -> Outcome in
            let connections = try FailoverRunner.connectAll(inventory.hosts, connector: connector)
            defer { connections.values.forEach { $0.close() } }
            for placement in placements {
                var uploads: [SSHConnection.UploadFile] = []
                for file in placement.files {
                    guard case .contents(let data) = try directory.read(file.local) else {
                        throw ClusterupError.local("\(file.local) vanished from the PKI directory", at: directory.root)
                    }
                    uploads.append(SSHConnection.UploadFile([UInt8](data), to: file.remote, mode: file.mode))
                }
                try connections[placement.host]!.putAll(uploads)
                progress("\(placement.host): installed " + placement.files.map(\.remote).joined(separator: ", "))
                if !steps.contains(where: { $0.step.host == placement.host }) { try onHostDone(placement.host) }
            }
            guard !steps.isEmpty else { return Outcome(placements: placements, restarted: [], availability: nil) }

            let balancers = Dictionary(uniqueKeysWithValues: inventory.hosts(withRole: .lb).map { ($0.name, connections[$0.name]! as any RemoteShell) })
            let etcdShells = Dictionary(uniqueKeysWithValues: inventory.hosts(withRole: .etcd).map { ($0.name, connections[$0.name]! as any RemoteShell) })
            var watch: AvailabilityWatch?
            if let vip = inventory.vip, !balancers.isEmpty {
                let probe = AvailabilityWatch(.init(target: ProbeTarget(host: vip.address, port: vip.port),
                                                    readyz: HTTPSProbe(caFile: inventory.pki.directory + "/ca.crt")))
                try probe.start()
                watch = probe
            }
            let rolling = RollingHosts(
                watch: watch, drain: balancers.isEmpty ? nil : BackendDrain(balancers: balancers),
                etcd: EtcdMembers(shells: etcdShells, etcdctl: inventory.deploy.artifact("etcdctl")?.path ?? "etcdctl"),
                progress: progress)
            let action: (RollingStep) throws -> Void = { step in
                let units = steps.first { $0.step == step }!.units
                try RolloutCommand.run(connections[step.host]!, "systemctl restart " + units.map(shellQuote).joined(separator: " "))
            }
            let ready: (RollingStep) throws -> Void = { step in
                let units = steps.first { $0.step == step }!.units
                let shell = connections[step.host]!
                if units.contains("kube-apiserver.service") {
                    try APIServerReady.wait(inventory.host(named: step.host)!, connection: shell, timeout: timeout)
                } else {
                    try RemoteWait.run(until: "systemctl is-active --quiet " + units.map(shellQuote).joined(separator: " "),
                                       explain: "systemctl is-active " + units.map(shellQuote).joined(separator: " "),
                                       timeout: timeout, on: shell) { detail in
                        ClusterupError.remote("\(units.joined(separator: ", ")) not active within \(timeout) (\(detail))", host: step.host)
                    }
                }
            }
            do {
                // Host by host, each recorded as done before the next is touched.
                var hosts: [String] = []
                for step in steps where !hosts.contains(step.step.host) { hosts.append(step.step.host) }
                for host in hosts {
                    _ = try rolling.run(steps.filter { $0.step.host == host }.map(\.step), action: action, ready: ready)
                    try onHostDone(host)
                }
            } catch {
                _ = watch?.finish()
                throw error
            }
            return Outcome(placements: placements, restarted: steps.map { "\($0.step.host): \($0.units.joined(separator: ", "))" },
                           availability: watch?.finish())
        }
    }

    /// Progress on standard error (standard output keeps the report, or the JSON document).
    static func progressLines(json: Bool) -> @Sendable (String) -> Void {
        { line in FileHandle.standardError.write(Data(((json ? "" : "    ") + line + "\n").utf8)) }
    }

    struct Step: Sendable, Equatable {
        var step: RollingStep
        var units: [String]
    }

    /// Per host in inventory order: etcd alone first (its guard moves leadership away), then the
    /// control-plane units together behind a drained apiserver (or no guard when no apiserver restarts).
    static func steps(_ placements: [PKIFilePlacement], inventory: Inventory) -> [Step] {
        var steps: [Step] = []
        let balanced = !inventory.hosts(withRole: .lb).isEmpty
        for placement in placements where !placement.restarts.isEmpty {
            if placement.restarts.contains("etcd.service") {
                steps.append(Step(step: RollingStep(host: placement.host, name: "etcd restart for new certificates", guarding: .etcdMember),
                                  units: ["etcd.service"]))
            }
            let others = placement.restarts.filter { $0 != "etcd.service" }
            guard !others.isEmpty else { continue }
            let apiserver = others.contains("kube-apiserver.service")
            steps.append(Step(step: RollingStep(host: placement.host, name: "\(others.map { $0.replacingOccurrences(of: ".service", with: "") }.joined(separator: ", ")) restart for new certificates",
                                                guarding: apiserver && balanced ? .drainAPIServer : .none),
                              units: others))
        }
        return steps
    }
}

extension AvailabilityReport {
    /// What `certs renew --deploy` and `certs rotate-ca` put in their JSON: failed probes over the
    /// run, the longest gap of either prober, and the text lines per step.
    var summaryJSON: JSONValue {
        .object([
            ("failed_probes", .int(Int64(failedProbes))),
            ("longest_gap_ms", .double(max(tcp?.longestGapMilliseconds ?? 0, readyz?.longestGapMilliseconds ?? 0))),
            ("lines", .array(lines.map(JSONValue.string))),
        ])
    }
}
