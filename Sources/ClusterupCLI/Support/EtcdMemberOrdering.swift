import ClusterupDeploy

/// The member order etcd maintenance uses. Interim until the rollout target's shared
/// EtcdMemberOrder lands (issue 17): then this forwards to it and the rule below goes.
enum EtcdMemberOrdering {
    static let shared: any EtcdMaintenanceOrder = FollowersThenLeader()

    /// Followers in inventory order, the leader last.
    struct FollowersThenLeader: EtcdMaintenanceOrder {
        func order(_ members: [String], leader: String?) throws -> [String] {
            members.filter { $0 != leader } + members.filter { $0 == leader }
        }
    }
}
