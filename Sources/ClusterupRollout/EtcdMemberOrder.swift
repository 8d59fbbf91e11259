import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import Foundation

/// The order etcd members are touched in during a rollout, and when the next may start. Pure.
/// Followers first, one at a time, each healthy and caught up before the next: two of three
/// members serve at every instant. The leader last, after leadership moved to a member already
/// done: one planned election instead of a lost leader.
public enum EtcdMemberOrder {
    /// `members` (in the caller's order) with the leader moved to the end.
    public static func order(_ members: [String], leader: String?) -> [String] {
        guard let leader, members.contains(leader) else { return members }
        return members.filter { $0 != leader } + [leader]
    }

    /// Where leadership goes before `member` is touched: nil when `member` does not lead; else
    /// the first member of `order` already done (running the new version), else any other member
    /// that started. nil too when there is nobody to take it (a one-member cluster).
    public static func successor(of member: String, leader: String?, order: [String], done: Set<String>, started: Set<String>) -> String? {
        guard member == leader else { return nil }
        return order.first { $0 != member && done.contains($0) && started.contains($0) }
            ?? order.first { $0 != member && started.contains($0) }
    }

    /// A member is caught up once it has applied every entry the leader had when the wait began.
    public static func caughtUp(_ member: EtcdEndpointStatus, leaderIndexAtStart: UInt64) -> Bool {
        member.raftAppliedIndex >= leaderIndexAtStart
    }
}

/// One endpoint as `etcdctl endpoint status -w json` reports it.
public struct EtcdEndpointStatus: Sendable, Equatable {
    public var endpoint: String
    public var memberID: UInt64
    public var leader: UInt64
    public var raftIndex: UInt64
    public var raftAppliedIndex: UInt64
    public var version: String

    public init(endpoint: String, memberID: UInt64, leader: UInt64, raftIndex: UInt64, raftAppliedIndex: UInt64, version: String) {
        self.endpoint = endpoint
        self.memberID = memberID
        self.leader = leader
        self.raftIndex = raftIndex
        self.raftAppliedIndex = raftAppliedIndex
        self.version = version
    }

    /// `endpoint status -w json`: `[{"Endpoint": …, "Status": {"header": {"member_id": …}, "leader": …,
    /// "raftIndex": …, "raftAppliedIndex": …, "version": …}}]`.
    public static func parse(_ json: String, host: String) throws -> [EtcdEndpointStatus] {
        struct Endpoint: Decodable {
            struct Status: Decodable {
                struct Header: Decodable { var member_id: UInt64 }
                var header: Header
                var leader: UInt64
                var raftIndex: UInt64
                var raftAppliedIndex: UInt64?
                var version: String?
            }
            var Endpoint: String
            var Status: Status
        }
        do {
            return try JSONDecoder().decode([Endpoint].self, from: Data(json.utf8)).map {
                EtcdEndpointStatus(endpoint: $0.Endpoint, memberID: $0.Status.header.member_id, leader: $0.Status.leader,
                                   raftIndex: $0.Status.raftIndex, raftAppliedIndex: $0.Status.raftAppliedIndex ?? $0.Status.raftIndex,
                                   version: $0.Status.version ?? "")
            }
        } catch {
            throw ClusterupError.remote("could not read `etcdctl endpoint status`: \(error)", host: host)
        }
    }
}

/// What the members say about the cluster at one instant.
public struct EtcdClusterView: Sendable, Equatable {
    public var members: [EtcdMember]
    /// Member name → its endpoint's status; a member that did not answer is absent.
    public var statuses: [String: EtcdEndpointStatus]

    public init(members: [EtcdMember], statuses: [EtcdEndpointStatus]) {
        self.members = members
        var byName: [String: EtcdEndpointStatus] = [:]
        for status in statuses {
            if let member = members.first(where: { $0.id == status.memberID }) { byName[member.name] = status }
        }
        self.statuses = byName
    }

    /// The member every answering endpoint names as leader; nil when they disagree or none answers.
    public var leader: String? {
        let leaders = Set(statuses.values.map(\.leader))
        guard leaders.count == 1, let id = leaders.first else { return nil }
        return members.first { $0.id == id && $0.isStarted }?.name
    }

    public var started: Set<String> { Set(members.filter(\.isStarted).map(\.name)) }
}

/// The adapter: etcdctl over TLS (the health-check client) on an etcd host, asking the whole
/// cluster. Blocking: run it on a dedicated thread.
public struct EtcdMembers: Sendable {
    /// One shell per etcd host, by host name: any that answers is asked.
    public let shells: [String: any RemoteShell]
    public let etcdctl: String
    /// Longest wait for a member to be healthy and caught up, and for a leadership move.
    public var limit: Duration

    public init(shells: [String: any RemoteShell], etcdctl: String = "etcdctl", limit: Duration = .seconds(60)) {
        self.shells = shells
        self.etcdctl = etcdctl
        self.limit = limit
    }

    static let separator = "@@status"

    var viewScript: String {
        Etcdctl.command(etcdctl, "member list -w json") + "\necho '\(Self.separator)'\n"
            + Etcdctl.command(etcdctl, "endpoint status --cluster -w json") + " 2>/dev/null || true\n"
    }

    /// The members and the status of each that answers, asked on the first host (other than
    /// `avoiding`, the member being restarted) whose local member answers.
    public func view(avoiding: String? = nil) throws -> EtcdClusterView {
        let hosts = shells.keys.sorted().filter { $0 != avoiding } + (avoiding.map { shells[$0] != nil ? [$0] : [] } ?? [])
        var lastError: any Error = ClusterupError.remote("no etcd host to ask")
        for host in hosts {
            do {
                let output = try RolloutCommand.run(shells[host]!, viewScript, timeout: 30)
                let parts = output.components(separatedBy: Self.separator + "\n")
                let members = try EtcdMember.parseList(parts[0], host: host)
                let statusText = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespacesAndNewlines) : ""
                let statuses = statusText.isEmpty ? [] : try EtcdEndpointStatus.parse(statusText, host: host)
                return EtcdClusterView(members: members, statuses: statuses)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// `etcdctl move-leader` to `successor`, sent to the current leader's endpoint; returns once
    /// every answering member names `successor` as leader.
    public func moveLeader(from leader: String, to successor: String) throws {
        let view = try view()
        guard let target = view.members.first(where: { $0.name == successor }) else {
            throw ClusterupError.remote("etcd has no member \(successor) to move leadership to")
        }
        guard let endpoint = view.members.first(where: { $0.name == leader })?.clientURLs.first else {
            throw ClusterupError.remote("etcd's member list gives no client URL for the leader \(leader)")
        }
        let host = shells.keys.sorted().first { $0 != leader } ?? leader
        try RolloutCommand.run(shells[host]!, Etcdctl.command(etcdctl, "move-leader \(target.hexID)", endpoints: endpoint), timeout: 30)
        let deadline = ContinuousClock.now + limit
        repeat {
            if try self.view(avoiding: leader).leader == successor { return }
            Thread.sleep(forTimeInterval: 0.1)
        } while ContinuousClock.now < deadline
        throw ClusterupError.remote("etcd leadership did not move from \(leader) to \(successor) within \(Int(limit.components.seconds)) s")
    }

    /// Returns once `member` answers, the cluster has a leader, and `member` applied every entry
    /// the leader had when this wait began.
    public func awaitCaughtUp(_ member: String) throws -> EtcdEndpointStatus {
        let deadline = ContinuousClock.now + limit
        var leaderIndex: UInt64?
        var last = "no answer yet"
        repeat {
            do {
                let view = try view(avoiding: member)
                if leaderIndex == nil, let leader = view.leader { leaderIndex = view.statuses[leader]?.raftIndex }
                if let leaderIndex, let status = view.statuses[member] {
                    if EtcdMemberOrder.caughtUp(status, leaderIndexAtStart: leaderIndex) { return status }
                    last = "applied index \(status.raftAppliedIndex), leader's was \(leaderIndex)"
                } else {
                    last = view.statuses[member] == nil ? "\(member) does not answer" : "no leader"
                }
            } catch {
                last = String(describing: error)
            }
            Thread.sleep(forTimeInterval: 0.2)
        } while ContinuousClock.now < deadline
        throw ClusterupError.remote("etcd member \(member) is not healthy and caught up within \(Int(limit.components.seconds)) s (\(last))",
                                    host: member, hint: "check `journalctl -u etcd` on \(member); the other members keep quorum")
    }
}
