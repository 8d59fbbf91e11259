import ClusterupCore
import ClusterupDeploy

/// Which members `etcd defrag` defragments, in which order, and where leadership goes first.
/// Pure: from the members' status and the operator's threshold.
public struct EtcdDefragPlan: Sendable, Equatable {
    public enum Selection: Sendable, Equatable {
        /// Members whose free share of the database file is at least this fraction (0…1).
        case minFree(Double)
        case all
    }

    public struct Member: Sendable, Equatable {
        public var name: String
        public var memberID: UInt64
        /// The member's client URL: defrag and status address it alone.
        public var endpoint: String
        public var dbSize: Int64
        public var dbSizeInUse: Int64
        public var isLeader: Bool

        public var freeFraction: Double { dbSize > 0 ? Double(max(0, dbSize - dbSizeInUse)) / Double(dbSize) : 0 }
    }

    /// To defragment, in order.
    public var members: [Member]
    /// Below the threshold: left alone.
    public var skipped: [Member]
    /// When the leader is among `members`: the member leadership moves to before it is defragmented.
    public var moveLeaderTo: String?

    public static let defaultMinFree = 0.2

    /// Refuses (exit 2 with the reason) when a member does not answer, when the members do not
    /// agree on a leader, or when the leader is to be defragmented with no other member to take
    /// over: a blocked member while another is down can cost the cluster its quorum.
    public static func plan(states: [EtcdMemberState], selection: Selection) throws -> EtcdDefragPlan {
        let silent = states.filter { $0.status == nil || $0.member.clientURLs.isEmpty }
        if !silent.isEmpty {
            throw ClusterupError.badInput(
                "etcd member(s) \(silent.map(\.name).joined(separator: ", ")) do not answer; defragmenting another member now blocks it while the cluster is already short of one",
                at: "etcd", hint: "bring every member back first (`clusterup status` shows which are down)")
        }
        guard let leader = EtcdMemberState.leader(of: states) else {
            throw ClusterupError.badInput(
                "the etcd members do not agree on one leader", at: "etcd",
                hint: "wait for the election to settle and re-run; `clusterup status` shows each member's view")
        }
        let all = states.map { state in
            Member(name: state.name, memberID: state.member.id, endpoint: state.member.clientURLs[0],
                   dbSize: state.status!.dbSize, dbSizeInUse: state.status!.dbSizeInUse, isLeader: state.member.id == leader.member.id)
        }
        let chosen = all.filter { member in
            switch selection {
            case .all: true
            case .minFree(let threshold): member.freeFraction >= threshold
            }
        }
        // The rollout's member order: followers first, the leader last; leadership goes to a
        // member already defragmented (compact file, warm cache), else to any other.
        let names = EtcdMemberOrder.order(chosen.map(\.name), leader: leader.name)
        let ordered = names.map { name in chosen.first { $0.name == name }! }
        let moveTo = EtcdMemberOrder.successor(
            of: leader.name, leader: leader.name, order: names + all.map(\.name).filter { !names.contains($0) },
            done: Set(names.filter { $0 != leader.name }), started: Set(all.map(\.name)))
        return EtcdDefragPlan(members: ordered, skipped: all.filter { m in !chosen.contains { $0.name == m.name } },
                              moveLeaderTo: ordered.contains(where: \.isLeader) ? moveTo : nil)
    }
}
