import ClusterupNodes
import ClusterupCore
import ClusterupSSH
import Foundation

/// `clusterup etcd recover`, up to the one-member cluster: reads every etcd host, applies the
/// plan's refusal rules, then seeds a one-member cluster on the plan's seed host (its own data
/// with --force-new-cluster, or a snapshot restored there), and moves the other hosts' data
/// aside (kept, never deleted) so that deploy joins them as new members, one at a time.
/// Every data directory touched is kept at `<data dir>.before-recover-<time>`.
public enum EtcdRecover {
    public struct Result: Sendable {
        public var plan: EtcdRecoverPlan
        /// The revision the recovered cluster starts from.
        public var revision: Int64?
        /// Host → where its previous data directory now is.
        public var keptAside: [String: String]
    }

    /// What each etcd host reports: data, unit, and whether its member answers health (only
    /// with a quorum). Unreachable hosts are absent.
    public static func probe(inventory: Inventory, settings: DeploySettings, sessions: HostSessions) async -> [String: EtcdRecoverPlan.HostFacts] {
        let etcdctl = etcdctlPath(settings)
        let dataDir = settings.etcd.dataDirectory
        let results = await sessions.run(inventory.hosts(withRole: .etcd), step: "reading etcd") { host, connection, _ in
            let endpoint = EtcdPeer(name: host.name, address: host.privateAddress).clientURL
            let output = try connection.checkedOutput(probeScript(dataDirectory: dataDir, etcdctl: etcdctl, endpoint: endpoint), timeout: 30)
            return parseProbe(output)
        }
        var facts: [String: EtcdRecoverPlan.HostFacts] = [:]
        for result in results { if let value = result.value { facts[result.host] = value } }
        return facts
    }

    static func probeScript(dataDirectory: String, etcdctl: String, endpoint: String) -> String {
        """
        if [ -d \(shellQuote(dataDirectory))/member ]; then echo data; else echo empty; fi
        systemctl is-active -q etcd.service && echo active || echo inactive
        \(Etcdctl.command(etcdctl, "endpoint health", endpoints: endpoint)) >/dev/null 2>&1 && echo healthy || echo unhealthy

        """
    }

    static func parseProbe(_ output: String) -> EtcdRecoverPlan.HostFacts {
        let words = Set(output.split(whereSeparator: \.isWhitespace).map(String.init))
        return .init(reachable: true, active: words.contains("active"), healthy: words.contains("healthy"), hasData: words.contains("data"))
    }

    /// A runtime drop-in (under /run: gone at the next boot whatever happens) that starts the
    /// member once with --force-new-cluster; removed as soon as the member is healthy, so a
    /// later restart never forces a new cluster again.
    static let forceNewClusterDropIn = "/run/systemd/system/etcd.service.d/50-clusterup-force-new-cluster.conf"

    public static func run(
        plan: EtcdRecoverPlan, snapshot: [UInt8]?, inventory: Inventory, settings: DeploySettings, sessions: HostSessions,
        healthTimeout: Duration, note: @escaping @Sendable (String) -> Void, now: Date = Date()
    ) async throws -> Result {
        let etcdctl = etcdctlPath(settings)
        let dataDir = settings.etcd.dataDirectory
        let stamp = Reset.timestamp(now)
        let aside = dataDir + ".before-recover-" + stamp
        guard let seed = inventory.host(named: plan.seed) else {
            throw ClusterupError.badInput("\(plan.seed) is not a host of the inventory", at: inventory.path)
        }
        let rejoin = plan.rejoin.compactMap { inventory.host(named: $0) }
        // Under the deploy lock: no deploy may start members while the new cluster forms. It is
        // released before the deploy that re-adds the others (which takes it itself).
        return try await OperationLock.holding([seed] + rejoin, sessions: sessions, operation: "etcd recover",
                                                 refusedState: "Nothing was stopped or changed; etcd runs as before.", note: note) {
            try await seedAndClear(plan: plan, seed: seed, rejoin: rejoin, snapshot: snapshot, inventory: inventory, settings: settings,
                                   sessions: sessions, etcdctl: etcdctl, dataDir: dataDir, stamp: stamp, aside: aside,
                                   healthTimeout: healthTimeout, note: note)
        }
    }

    /// Steps 1-3 of `run`, holding the lock.
    static func seedAndClear(
        plan: EtcdRecoverPlan, seed: InventoryHost, rejoin: [InventoryHost], snapshot: [UInt8]?, inventory: Inventory,
        settings: DeploySettings, sessions: HostSessions, etcdctl: String, dataDir: String, stamp: String, aside: String,
        healthTimeout: Duration, note: @escaping @Sendable (String) -> Void
    ) async throws -> Result {
        // 1. Stop every reachable member: none may answer the old cluster's peers while the new one forms.
        let stopped = await sessions.run([seed] + rejoin, step: "stopping etcd") { _, connection, _ in
            _ = try connection.checkedOutput("systemctl stop etcd.service", timeout: 90)
        }
        try requireAll(stopped, step: "stop", state: "etcd may be stopped on some hosts; no data was changed. Fix the cause and re-run recover.")
        note("etcd stopped on \(([seed] + rejoin).map(\.name).joined(separator: ", "))")

        // 2. The seed: a one-member cluster from its own data or from the snapshot.
        let seedResult = await sessions.run([seed], step: "seeding") { host, connection, reporter in
            switch plan.source {
            case .member:
                // The member's data is copied aside first: force-new-cluster rewrites its membership in place.
                reporter.step("keeping a copy of the data")
                _ = try connection.checkedOutput("cp -a \(shellQuote(dataDir)) \(shellQuote(aside))", timeout: 600)
                reporter.step("starting with --force-new-cluster")
                _ = try connection.checkedOutput("""
                    install -d \(shellQuote((forceNewClusterDropIn as NSString).deletingLastPathComponent))
                    printf '[Service]\\nEnvironment=ETCD_FORCE_NEW_CLUSTER=true\\n' > \(shellQuote(forceNewClusterDropIn))
                    systemctl daemon-reload && systemctl start --no-block etcd.service
                    """)
                defer {
                    _ = try? connection.checkedOutput("rm -f \(shellQuote(forceNewClusterDropIn)) && systemctl daemon-reload")
                }
                try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: healthTimeout)
            case .snapshot:
                guard let snapshot else { throw ClusterupError.local("no snapshot bytes for a snapshot recover") }
                reporter.step("uploading the snapshot")
                let remote = "\(settings.etcd.backupDirectory)/recover-\(stamp).db"
                _ = try connection.checkedOutput("install -d -m 0700 \(shellQuote(settings.etcd.backupDirectory))")
                _ = try connection.put(snapshot, to: remote, mode: 0o600, owner: "root", group: "root")
                let sha = try connection.checkedOutput("sha256sum \(shellQuote(remote)) | cut -d' ' -f1").trimmingCharacters(in: .whitespacesAndNewlines)
                guard sha == sha256Hex(snapshot) else {
                    throw ClusterupError.remote("the uploaded snapshot's sha256 differs (\(sha))", host: host.name, hint: "re-run recover")
                }
                reporter.step("restoring")
                let me = EtcdPeer(name: host.name, address: host.privateAddress)
                let restore = EtcdRestore.restoreCommand(etcdctl: etcdctl, snapshot: remote, host: host, peers: [me],
                                                         cluster: inventory.cluster, dataDirectory: dataDir)
                _ = try connection.checkedOutput(
                    "if [ -e \(shellQuote(dataDir)) ]; then mv \(shellQuote(dataDir)) \(shellQuote(aside)); fi; \(restore) >/dev/null && chmod 0700 \(shellQuote(dataDir))",
                    timeout: 300)
                reporter.step("starting")
                _ = try connection.checkedOutput("systemctl start --no-block etcd.service")
                try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: healthTimeout)
            }
            let endpoint = EtcdPeer(name: host.name, address: host.privateAddress).clientURL
            let status = try connection.checkedOutput(Etcdctl.command(etcdctl, "endpoint status -w json", endpoints: endpoint), timeout: 30)
            return try EtcdEndpointStatus.parse(status, host: host.name).first?.revision
        }
        try requireAll(seedResult, step: "seed \(seed.name)", state: """
            etcd is stopped on \(rejoin.map(\.name).joined(separator: ", ")); on \(seed.name) its data \(plan.source == .member(seed.name) ? "was copied" : "was moved") to \(aside) before anything changed. \
            Fix the cause and re-run recover (\(seed.name)'s copy is the recover source if its data directory is damaged: move it back first).
            """)
        let revision = seedResult.first?.value ?? nil
        note("\(seed.name): one-member cluster healthy\(revision.map { " at revision \($0)" } ?? "")")

        // 3. The others: data aside, so deploy adds them as new members with fresh data dirs.
        let cleared = await sessions.run(rejoin, step: "moving data aside") { _, connection, _ in
            let output = try connection.checkedOutput(
                "if [ -e \(shellQuote(dataDir)) ]; then mv \(shellQuote(dataDir)) \(shellQuote(aside)) && echo moved; fi")
            return output.contains("moved")
        }
        try requireAll(cleared, step: "clear", state: "\(seed.name) runs the recovered one-member cluster; etcd is stopped on the others. Re-run recover with --force --from-member \(seed.name), or move their data aside and run `clusterup deploy`.")
        var keptAside: [String: String] = [seed.name: aside]
        for result in cleared where result.value == true { keptAside[result.host] = aside }
        return Result(plan: plan, revision: revision, keptAside: keptAside)
    }

    static func requireAll<Value>(_ results: [HostResult<Value>], step: String, state: String) throws {
        try EtcdRestore.requireAll(results, operation: "etcd recover", step: step, state: state)
    }
}
