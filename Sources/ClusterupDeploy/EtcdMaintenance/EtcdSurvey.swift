import ClusterupNodes
import ClusterupCore

/// The cluster as one member sees it, in one round trip: members, every endpoint's status, and
/// the alarms. What defrag, alarms and recover decide from.
public struct EtcdSurvey: Sendable, Equatable {
    /// The host that answered.
    public var queriedOn: String
    public var members: [EtcdMemberState]
    public var alarms: [EtcdAlarm]

    public var leader: EtcdMemberState? { EtcdMemberState.leader(of: members) }

    /// `endpoint status --cluster` fails as a whole when one endpoint is down, but prints the
    /// others first: its output is read either way, a missing member is a nil status.
    public static func script(etcdctl: String) -> String {
        "echo '@@members'; \(Etcdctl.command(etcdctl, "member list -w json"))\n"
            + "echo '@@status'; \(Etcdctl.command(etcdctl, "endpoint status --cluster -w json")) 2>/dev/null || true\n"
            + "echo '@@alarms'; \(Etcdctl.command(etcdctl, "alarm list -w json"))\n"
    }

    public static func parse(_ output: String, host: String) throws -> EtcdSurvey {
        let sections = ProbeSections(output)
        let members = try EtcdMember.parseList(sections.first("members")?.body ?? "", host: host)
        let body = sections.first("status")?.body ?? ""
        let statuses = body.contains("[") ? try EtcdEndpointStatus.parse(body, host: host) : []
        let alarms = try EtcdAlarm.parseList(sections.first("alarms")?.body ?? "", host: host)
        return EtcdSurvey(queriedOn: host, members: EtcdMemberState.join(members: members, statuses: statuses), alarms: alarms)
    }

    /// Asks the etcd hosts in inventory order; the first that answers gives the cluster's view.
    public static func read(inventory: Inventory, settings: DeploySettings, sessions: HostSessions) async throws -> EtcdSurvey {
        let etcdHosts = inventory.hosts(withRole: .etcd)
        guard !etcdHosts.isEmpty else {
            throw ClusterupError.badInput("the inventory has no etcd hosts", at: inventory.path, hint: "give hosts the etcd role")
        }
        let script = script(etcdctl: etcdctlPath(settings))
        let answer = await StatusCollector.firstAnswer(from: etcdHosts, unreachable: [], sessions: sessions, step: "reading etcd") { host, connection in
            try parse(try connection.checkedOutput(script, sudo: true, timeout: 40), host: host.name)
        }
        switch answer {
        case .success(var survey):
            // Inventory order: the order operators read and the order followers are taken in.
            let rank = Dictionary(uniqueKeysWithValues: inventory.hosts.enumerated().map { ($1.name, $0) })
            survey.members.sort { (rank[$0.name] ?? Int.max, $0.name) < (rank[$1.name] ?? Int.max, $1.name) }
            return survey
        case .failure(let error):
            throw ClusterupError.remote("no etcd member answered: \(error.message)",
                                        hint: "check `clusterup status`; after a lost quorum see `clusterup etcd recover`")
        }
    }
}
