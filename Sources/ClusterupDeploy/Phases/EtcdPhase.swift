import ClusterupNodes
import ClusterupCore
import Foundation

/// Brings etcd membership and services to the plan without losing quorum: a new cluster starts
/// all members together; an existing one is snapshotted first, then grows one member at a time
/// (member add, then start), sheds removed members (member remove first), and restarts members
/// whose files changed one at a time, waiting for each to be healthy again.
struct EtcdPhase: DeployPhase {
    let title = "etcd"
    let afterFailure = AfterFailure.nodesPartWay
    let changesHosts = true

    func skipReason(_ session: DeploySession) -> String? {
        let etcdHosts = session.inventory.hosts(withRole: .etcd)
        if etcdHosts.isEmpty { return "no etcd hosts" }
        let (plan, changes) = session.with { ($0.etcdPlan, $0.changes) }
        let touched = etcdHosts.contains { host in
            [EtcdComponent.unit.name, EtcdComponent.snapshotTimer].contains { changes[host.name]?.touches($0) == true }
        }
        return (plan?.isNoChange ?? true) && !touched ? "etcd members and files unchanged" : nil
    }

    func run(_ session: DeploySession) async throws {
        let inventory = session.inventory
        let etcdHosts = inventory.hosts(withRole: .etcd)
        let (plan, changes, members) = session.with { ($0.etcdPlan!, $0.changes, $0.etcdMembers) }
        let etcdctl = etcdctlPath(session.settings)
        let timeout = session.options.healthTimeout
        let unit = EtcdComponent.unit

        switch plan {
        case .bootstrap(let peers):
            let hosts = etcdHosts.filter { host in peers.contains { $0.name == host.name } }
            // Members of a new cluster wait for each other, so they start together, except one:
            // a starting member asks every other member, one after the other, whether it is
            // already bootstrapped, and one whose port is open but not yet served keeps it
            // waiting a second (etcd's bootstrap timeout). Started all at once, ten members took
            // five seconds over it. The member others ask first (peer URLs in order) starts
            // alone; once it serves its peer port, the others' first question is answered.
            // Only a head start: if it does not serve within a few seconds, the others start anyway.
            let first = Self.firstAsked(hosts)
            try await session.onHosts([first], phase: self, step: "starting etcd") { host, connection, _ in
                _ = try connection.checkedOutput("systemctl start --no-block etcd.service")
                do {
                    try EtcdPhase.waitServingPeers(host, connection: connection, timeout: .seconds(10))
                } catch let error as ClusterupError {
                    session.note(host.name, "etcd: starting the other members without waiting: \(error.message)")
                }
            }
            try await session.onHosts(hosts.filter { $0 != first }, phase: self, step: "starting etcd") { _, connection, _ in
                _ = try connection.checkedOutput("systemctl start --no-block etcd.service")
            }
            try await session.onHosts(hosts, phase: self, step: "waiting for health") { host, connection, _ in
                try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: timeout)
            }
            session.note(nil, "etcd: cluster of \(hosts.count) member(s) bootstrapped")

        case .reconcile(let join, let remove):
            let joining = Set(join.map(\.name))
            let skipped = session.skippedHosts
            guard let anchor = etcdHosts.first(where: { !joining.contains($0.name) && !skipped.contains($0.name) }) else {
                throw DeployFailure(phase: title, failures: [("etcd", "no running member to join through")],
                                    state: "No etcd membership was changed.")
            }
            let restarting = etcdHosts.filter { !joining.contains($0.name) && changes[$0.name]?.touches(unit.name) == true }
            if !join.isEmpty || !remove.isEmpty || !restarting.isEmpty {
                try await snapshot(session, on: anchor, etcdctl: etcdctl)
            }
            for peer in join {
                guard let host = inventory.host(named: peer.name) else { continue }
                let alreadyAdded = members?.contains { $0.peerURLs.contains(peer.peerURL) } ?? false
                if !alreadyAdded {
                    try await session.onHosts([anchor], phase: self, step: "member add \(peer.name)") { host, connection, _ in
                        try EtcdPhase.addMember(peer, on: host, connection: connection, etcdctl: etcdctl, timeout: timeout)
                    }
                }
                try await session.onHosts([host], phase: self, step: "starting etcd") { host, connection, _ in
                    _ = try connection.checkedOutput("systemctl start etcd.service", timeout: timeout.totalSeconds)
                    try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: timeout)
                }
                session.note(peer.name, "etcd: member \(peer.name) joined")
            }
            for member in remove {
                try await session.onHosts([anchor], phase: self, step: "member remove") { _, connection, _ in
                    _ = try connection.checkedOutput(Etcdctl.command(etcdctl, "member remove \(member.hexID)"))
                }
                session.note(nil, "etcd: member \(member.name.isEmpty ? member.hexID : member.name) removed")
                let inInventory = inventory.hosts.contains { h in member.peerURLs.contains(EtcdPeer(h).peerURL) }
                if !inInventory {
                    session.note(nil, UnreachableHosts.leftBehind(member: member.name.isEmpty ? member.hexID : member.name, removedThrough: anchor.name))
                }
                // A host still in the inventory but no longer an etcd host: stop its member and
                // keep its data aside (never delete data).
                if let host = inventory.hosts.first(where: { h in member.peerURLs.contains(EtcdPeer(h).peerURL) }) {
                    let dataDir = session.settings.etcd.dataDirectory
                    try await session.onHosts([host], phase: self, step: "stopping removed member") { _, connection, _ in
                        _ = try connection.checkedOutput(
                            "systemctl disable -q --now etcd.service; [ -d \(shellQuote(dataDir)) ] && mv \(shellQuote(dataDir)) \(shellQuote(dataDir)).removed-$(date +%Y%m%d%H%M%S) || true")
                    }
                }
            }
            // Restarts and starts of existing members: one at a time, healthy before the next.
            let others = etcdHosts.filter { !joining.contains($0.name) && changes[$0.name]?.touches(unit.name) == true }
            try await session.oneHostAtATime(others, phase: self, step: "restarting etcd") { host, connection, reporter in
                if let what = try applyUnitChange(unit, changes: changes[host.name]!, on: connection) {
                    reporter.step(what)
                    session.note(host.name, what)
                }
                try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: timeout)
            }
        }
        // etcd.snapshots: the timer starts (or restarts on a new interval) once its member runs.
        let timer = ManagedUnit(name: EtcdComponent.snapshotTimer, component: "etcd")
        let timed = etcdHosts.filter { changes[$0.name]?.touches(timer.name) == true }
        try await session.onHosts(timed, phase: self, step: "snapshot timer") { host, connection, _ in
            if let what = try applyUnitChange(timer, changes: changes[host.name]!, on: connection) { session.note(host.name, what) }
        }
    }

    /// A snapshot before touching a running cluster; kept on the anchor host.
    func snapshot(_ session: DeploySession, on host: InventoryHost, etcdctl: String) async throws {
        let dir = session.settings.etcd.backupDirectory
        let paths = try await session.onHosts([host], phase: self, step: "snapshot") { _, connection, _ in
            let path = "\(dir)/pre-deploy-\(Int(Date().timeIntervalSince1970)).db"
            _ = try connection.checkedOutput(
                "install -d -m 0700 \(shellQuote(dir)) && " + Etcdctl.command(etcdctl, "snapshot save \(shellQuote(path))"),
                timeout: 300)
            return path
        }
        if let path = paths[host.name] { session.note(host.name, "etcd snapshot saved to \(path)") }
    }

    /// `member add`, repeated while etcd refuses it: etcd 3.4 and 3.5 add a voting member only
    /// when every member has been connected for 5 s, so the second of two joiners (recover
    /// re-adds two at once) is refused with "unhealthy cluster" just after the first started.
    /// Done once the peer URL is listed, so a retry after an add that did go through adds nothing.
    static func addMember(_ peer: EtcdPeer, on host: InventoryHost, connection: some RemoteShell, etcdctl: String, timeout: Duration) throws {
        let listed = Etcdctl.command(etcdctl, "member list -w json") + " | grep -qF \(shellQuote("\"\(peer.peerURL)\""))"
        let add = Etcdctl.command(etcdctl, "member add \(shellQuote(peer.name)) --peer-urls=\(peer.peerURL)")
        try RemoteWait.run(
            until: "\(listed) || \(add)", every: 1, explain: "\(add) 2>&1 | tail -2", timeout: timeout, on: connection
        ) { detail in
            ClusterupError.remote("etcd refused to add member \(peer.name) for \(timeout): \(detail)", host: host.name,
                                  hint: "check the members' health with `clusterup status`; re-running deploy resumes")
        }
    }

    /// The member that a starting member asks first whether it is bootstrapped: etcd asks the
    /// other members in the order of their peer URLs, as strings.
    static func firstAsked(_ hosts: [InventoryHost]) -> InventoryHost {
        hosts.min { EtcdPeer($0).peerURL < EtcdPeer($1).peerURL }!
    }

    /// Waits on the node until its member answers on the peer port (it has finished starting and
    /// can tell the others the cluster's members), with its own peer certificate. HTTP/1.1: curl's
    /// HTTP/2 requests to etcd 3.4's peer port end in a reset stream.
    static func waitServingPeers(_ host: InventoryHost, connection: some RemoteShell, timeout: Duration) throws {
        let pki = NodeLayout.pkiDirectory
        let url = EtcdPeer(host).peerURL + "/members"
        let curl = "curl -sf --http1.1 --max-time 2 -o /dev/null --cacert \(pki)/etcd/ca.crt --cert \(pki)/etcd/peer.crt --key \(pki)/etcd/peer.key \(url)"
        try RemoteWait.run(
            until: curl, explain: "echo \"etcd.service is $(systemctl is-active etcd.service); \(url): $(\(curl) 2>&1)\"",
            timeout: timeout, on: connection
        ) { detail in
            ClusterupError.remote("etcd member did not start serving its peers within \(timeout): \(detail)", host: host.name,
                                  hint: "see `journalctl -u etcd` on \(host.name)")
        }
    }

    /// Waits on the node until the member reports healthy on its own endpoint. etcdctl (a Go
    /// program) runs only once systemd says the unit is active: etcd's unit is Type=notify and
    /// becomes active when the member has joined the cluster.
    static func waitHealthy(_ host: InventoryHost, connection: some RemoteShell, etcdctl: String, timeout: Duration) throws {
        let endpoint = EtcdPeer(host).clientURL
        let health = Etcdctl.command(etcdctl, "endpoint health", endpoints: endpoint)
        try RemoteWait.run(
            until: "systemctl is-active -q etcd.service && \(health)",
            explain: "echo \"etcd.service is $(systemctl is-active etcd.service)\"; \(health) 2>&1 | tail -3",
            timeout: timeout, on: connection
        ) { detail in
            ClusterupError.remote("etcd member did not become healthy within \(timeout): \(detail)", host: host.name,
                                  hint: "see `journalctl -u etcd` on \(host.name)")
        }
    }
}
