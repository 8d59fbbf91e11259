import ClusterupNodes

/// A member of the cluster with its status, as the maintenance commands see it: the member list
/// gives names, the endpoint status gives sizes and leadership. `status` is nil for a member
/// that did not answer.
public struct EtcdMemberState: Sendable, Equatable {
    public var member: EtcdMember
    public var status: EtcdEndpointStatus?

    public init(member: EtcdMember, status: EtcdEndpointStatus?) {
        self.member = member
        self.status = status
    }

    public var name: String { member.name.isEmpty ? member.hexID : member.name }

    /// Joins `member list` and `endpoint status --cluster` by member ID.
    public static func join(members: [EtcdMember], statuses: [EtcdEndpointStatus]) -> [EtcdMemberState] {
        members.map { member in EtcdMemberState(member: member, status: statuses.first { $0.memberID == member.id }) }
    }

    /// The member every answering endpoint names as leader, when they agree.
    public static func leader(of states: [EtcdMemberState]) -> EtcdMemberState? {
        guard let id = EtcdEndpointStatus.agreedLeader(states.compactMap(\.status)) else { return nil }
        return states.first { $0.member.id == id }
    }
}
