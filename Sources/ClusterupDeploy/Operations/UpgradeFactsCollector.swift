import ClusterupNodes
import ClusterupCore
import ClusterupSSH
import Foundation
import VRRPConfig

/// `upgrade plan`'s facts: each host's component versions in one round trip, the etcd leader
/// from one member, the VIP holder from the lb hosts' addresses. Changes nothing.
public enum UpgradeFactsCollector {
    public static func collect(inventory: Inventory, settings: DeploySettings, sessions: HostSessions) async throws -> UpgradeFacts {
        let results = await sessions.run(inventory.hosts, step: "reading versions") { host, connection, _ in
            try UpgradeProbe.parse(try connection.checkedOutput(UpgradeProbe.script(for: host, inventory: inventory, settings: settings), timeout: 30),
                                   host: host, inventory: inventory)
        }
        // A plan from some hosts only would order an upgrade that skips the others.
        let failed = zip(inventory.hosts, results).compactMap { host, result in result.error.map { "\(host.name): \(describe($0))" } }
        if !failed.isEmpty {
            throw ClusterupError.remote("cannot read the versions of every host:\n  " + failed.joined(separator: "\n  "),
                                        hint: "every host must answer for an upgrade plan: check them with `clusterup check`")
        }
        let readings = results.compactMap(\.value)
        let holders = readings.filter(\.holdsVIP).map(\.versions.host)

        var leader: String? = nil
        let etcdHosts = inventory.hosts(withRole: .etcd)
        if !etcdHosts.isEmpty {
            let etcdctl = etcdctlPath(settings)
            let answer = await StatusCollector.firstAnswer(from: etcdHosts, unreachable: [], sessions: sessions, step: "etcd leader") { host, connection in
                let output = try connection.checkedOutput(UpgradeProbe.leaderScript(etcdctl: etcdctl), sudo: true, timeout: 30)
                return try UpgradeProbe.parseLeader(output, host: host.name)
            }
            // An unknown leader is the planner's to refuse, and only when etcd must change.
            leader = try? answer.get()
        }
        return UpgradeFacts(hosts: readings.map(\.versions), etcdLeader: leader, vipHolder: holders.count == 1 ? holders[0] : nil)
    }
}

extension UpgradeFactsCollector {
    /// What each of `hosts` runs of each component its roles run, read as `upgrade plan` reads it
    /// (one round trip per host, in parallel); a host that does not answer is a failed result.
    public static func versions(of hosts: [InventoryHost], inventory: Inventory, settings: DeploySettings,
                                sessions: HostSessions) async -> [HostResult<HostVersions>] {
        await sessions.run(hosts, step: "reading versions") { host, connection, _ in
            let script = StatusProbe.versionScript(for: host, inventory: inventory, settings: settings) + "true\n"
            return try UpgradeProbe.parse(try connection.checkedOutput(script, timeout: 30), host: host, inventory: inventory).versions
        }
    }
}

/// The probe `upgrade plan` runs on each host, and its parsers.
enum UpgradeProbe {
    struct Reading: Sendable {
        var versions: HostVersions
        var holdsVIP: Bool
    }

    /// The versions of the programs `host` runs (of `only` those, when given), whether it holds
    /// the VIP, and clusterup-vrrpd's recorded build.
    static func script(for host: InventoryHost, inventory: Inventory, settings: DeploySettings, only: Set<String>? = nil) -> String {
        var script = StatusProbe.versionScript(for: host, inventory: inventory, settings: settings, only: only)
        if host.roles.contains(.lb), let vip = inventory.vip {
            script += StatusProbe.vipScript(vip.address)
            if inventory.vrrp?.backend != .keepalived {
                // The digest deploy recorded when it uploaded the daemon: its build.
                script += "echo '@@vrrpd-build'; cat \(shellQuote(LoadBalancerComponent.vrrpdDigest)) 2>/dev/null || true\n"
                // The running daemon's status, asked whether it restarts in place.
                let binary = settings.artifact("clusterup-vrrpd")?.path ?? "clusterup-vrrpd"
                script += "echo '@@vrrpd-status'; \(shellQuote(binary)) status 2>/dev/null | tr -d '\\n'; echo\n"
            }
        }
        return script
    }

    static func parse(_ output: String, host: InventoryHost, inventory: Inventory) throws -> Reading {
        let sections = ProbeSections(output)
        let build = sections.first("vrrpd-build")?.body.split(whereSeparator: \.isWhitespace).first.map(String.init)
        var installed: [UpgradeComponent: InstalledVersion] = [:]
        for (name, line) in StatusProbe.parseVersions(sections) {
            guard let component = UpgradeComponent(rawValue: name) else { continue }
            installed[component] = InstalledVersion(text: line, build: component == .clusterupVRRPD ? build : nil)
        }
        let inPlace = sections.first("vrrpd-status")?.body.contains("\"\(StatusField.restartsInPlace.rawValue)\"") ?? false
        return Reading(versions: HostVersions(host: host.name, installed: installed, vrrpdRestartsInPlace: inPlace),
                       holdsVIP: host.roles.contains(.lb) && StatusProbe.holdsVIP(sections))
    }

    /// The member list (names by ID) and the status of every endpoint (the leader's ID).
    static func leaderScript(etcdctl: String) -> String {
        "echo '@@members'; \(Etcdctl.command(etcdctl, "member list -w json"))\n"
            + "echo '@@status'; \(Etcdctl.command(etcdctl, "endpoint status --cluster -w json"))\n"
    }

    /// The name of the member the endpoints report as leader.
    static func parseLeader(_ output: String, host: String) throws -> String {
        let sections = ProbeSections(output)
        let members = try EtcdMember.parseList(sections.first("members")?.body ?? "", host: host)
        struct Endpoint: Decodable {
            struct Status: Decodable { var leader: UInt64 }
            var Status: Status
        }
        let body = sections.first("status")?.body ?? ""
        let statuses: [Endpoint]
        do {
            statuses = try JSONDecoder().decode([Endpoint].self, from: Data(body.utf8))
        } catch {
            throw ClusterupError.remote("could not read `etcdctl endpoint status`: \(error)", host: host)
        }
        let leaders = Set(statuses.map(\.Status.leader))
        guard leaders.count == 1, let id = leaders.first, let leader = members.first(where: { $0.id == id }), leader.isStarted else {
            throw ClusterupError.remote("the etcd endpoints do not agree on one started leader (leader IDs: \(leaders.map { String($0, radix: 16) }.sorted()))", host: host)
        }
        return leader.name
    }
}
