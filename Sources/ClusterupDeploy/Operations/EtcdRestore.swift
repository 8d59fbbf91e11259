import ClusterupSSH
import ClusterupCore
import Foundation

/// `clusterup etcd restore SNAPSHOT`: every member restarts from the same snapshot, as a new
/// cluster with the inventory's members. The old data directories are moved aside, never deleted.
/// Holds the deploy lock meanwhile so no deploy interleaves (`OperationLock`).
public enum EtcdRestore {
    /// The etcdctl 3.4 restore command for one member: its name, the whole initial cluster and
    /// its own peer URL, into a fresh data directory.
    static func restoreCommand(etcdctl: String, snapshot: String, host: InventoryHost, peers: [EtcdPeer], cluster: String, dataDirectory: String) -> String {
        let me = EtcdPeer(name: host.name, address: host.privateAddress)
        let initialCluster: String = EtcdMembershipPlan.initialCluster(bootstrapping: peers)
        let arguments: [String] = [
            "snapshot restore \(shellQuote(snapshot))",
            "--name=\(shellQuote(host.name))",
            "--initial-cluster=\(shellQuote(initialCluster))",
            "--initial-cluster-token=\(shellQuote(cluster))",
            "--initial-advertise-peer-urls=\(me.peerURL)",
            "--data-dir=\(shellQuote(dataDirectory))",
        ]
        return "ETCDCTL_API=3 \(shellQuote(etcdctl)) " + arguments.joined(separator: " ")
    }

    public struct Result: Sendable {
        public var members: [String]
        /// Host → where its previous data directory now is.
        public var movedAside: [String: String]
    }

    public static func run(
        inventory: Inventory, settings: DeploySettings, sessions: HostSessions, snapshot: String,
        healthTimeout: Duration, note: @escaping @Sendable (String) -> Void, now: Date = Date()
    ) async throws -> Result {
        let hosts = inventory.hosts(withRole: .etcd)
        guard !hosts.isEmpty else {
            throw ClusterupError.badInput("the inventory has no etcd hosts", at: inventory.path, hint: "give hosts the etcd role")
        }
        let bytes = try readSnapshot(snapshot)
        let stamp = Reset.timestamp(now)
        let etcdctl = etcdctlPath(settings)
        let dataDir = settings.etcd.dataDirectory
        let remote = "\(settings.etcd.backupDirectory)/restore-\(stamp).db"
        let peers = hosts.map { EtcdPeer(name: $0.name, address: $0.privateAddress) }
        return try await OperationLock.holding(hosts, sessions: sessions, operation: "etcd restore",
                                                 refusedState: "Nothing was stopped or changed; etcd runs as before.", note: note) {
            // 1. Upload to every member before stopping anything: a failure here changes nothing.
            let prepared = await sessions.run(hosts, step: "uploading") { host, connection, _ in
                _ = try connection.checkedOutput("install -d -m 0700 \(shellQuote(settings.etcd.backupDirectory))")
                _ = try connection.put(bytes, to: remote, mode: 0o600, owner: "root", group: "root")
                let sha = try connection.checkedOutput("sha256sum \(shellQuote(remote)) | cut -d' ' -f1")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                guard sha == sha256Hex(bytes) else {
                    throw ClusterupError.remote("the uploaded snapshot's sha256 differs (\(sha))", host: host.name)
                }
            }
            try requireAll(prepared, step: "upload", state: "Nothing was stopped or changed; etcd runs as before.")
            return try await restore(
                hosts: hosts, peers: peers, cluster: inventory.cluster, etcdctl: etcdctl, dataDir: dataDir, remote: remote,
                stamp: stamp, bytes: bytes.count, sessions: sessions, healthTimeout: healthTimeout, note: note)
        }
    }

    /// Steps 2-4, once every member has the snapshot and the lock.
    static func restore(
        hosts: [InventoryHost], peers: [EtcdPeer], cluster: String, etcdctl: String, dataDir: String, remote: String,
        stamp: String, bytes: Int, sessions: HostSessions, healthTimeout: Duration, note: @escaping @Sendable (String) -> Void
    ) async throws -> Result {
        note("snapshot (\(bytes) bytes) uploaded to \(hosts.count) member(s) and checked")

        // 2. Stop every member: a restored cluster must not meet the old one.
        let stopped = await sessions.run(hosts, step: "stopping etcd") { _, connection, _ in
            _ = try connection.checkedOutput("systemctl stop etcd.service", timeout: 90)
            return true
        }
        try requireAll(stopped, step: "stop", state: "etcd may be stopped on some members (data untouched); run `clusterup deploy` to start them again, or fix the cause and re-run the restore.")
        note("etcd stopped on \(hosts.map(\.name).joined(separator: ", "))")

        // 3. Restore into a fresh data directory on each; the old one moves aside.
        let aside = dataDir + ".before-restore-" + stamp
        let restored = await sessions.run(hosts, step: "restoring") { host, connection, _ in
            let command = restoreCommand(etcdctl: etcdctl, snapshot: remote, host: host, peers: peers,
                                         cluster: cluster, dataDirectory: dataDir)
            let output = try connection.checkedOutput(
                "if [ -e \(shellQuote(dataDir)) ]; then mv \(shellQuote(dataDir)) \(shellQuote(aside)) && echo moved; fi; \(command) >/dev/null && chmod 0700 \(shellQuote(dataDir))",
                timeout: 300)
            return output.contains("moved") ? aside : nil
        }
        try requireAll(restored, step: "restore", state: "etcd is STOPPED on every member. Previous data directories are at \(aside) on the hosts that got that far; move them back to \(dataDir) and run `clusterup deploy` to return to the old state, or fix the cause and re-run the restore.")
        var movedAside: [String: String] = [:]
        for result in restored { if let path = result.value ?? nil { movedAside[result.host] = path } }

        // 4. Start all together (a new cluster's members wait for each other), then wait for health.
        let started = await sessions.run(hosts, step: "starting etcd") { host, connection, _ in
            _ = try connection.checkedOutput("systemctl start --no-block etcd.service")
            try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: healthTimeout)
            return true
        }
        try requireAll(started, step: "start", state: "The snapshot is restored on every member but not every member became healthy; check `clusterup status` and `journalctl -u etcd`. Previous data: \(aside).")
        return Result(members: hosts.map(\.name), movedAside: movedAside)
    }

    public static func readSnapshot(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterupError.badInput("cannot read the snapshot \(path)", at: "SNAPSHOT", hint: "give a file made by `clusterup etcd backup`")
        }
        let bytes = [UInt8](data)
        // A backup made by clusterup has its checksum beside it: a damaged copy is refused here.
        if let line = try? String(contentsOfFile: path + ".sha256", encoding: .utf8),
           let expected = line.split(separator: " ").first.map(String.init), expected != sha256Hex(bytes) {
            throw ClusterupError.badInput(
                "\(path) does not match its checksum in \(path).sha256 (file damaged or replaced)", at: "SNAPSHOT",
                hint: "use another backup")
        }
        guard bytes.count > 0 else { throw ClusterupError.badInput("\(path) is empty", at: "SNAPSHOT") }
        return bytes
    }

    /// Every host's result, or a failure naming the operation's step, the hosts and the state left.
    static func requireAll<Value>(_ results: [HostResult<Value>], operation: String = "etcd restore", step: String, state: String) throws {
        let failures = results.compactMap { r in r.error.map { (host: r.host, error: describe($0)) } }
        if !failures.isEmpty {
            throw DeployFailure(phase: "\(operation) (\(step))", failures: failures, state: state)
        }
    }
}
