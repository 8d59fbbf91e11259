/// The order in which members are taken one at a time by a maintenance that blocks a member
/// (defragmentation): followers first, the leader last after leadership moved away. The one
/// implementation is the rollout's shared member order; ClusterupDeploy sees it through this
/// protocol because the rollout target depends on this one.
public protocol EtcdMaintenanceOrder: Sendable {
    /// `members` by name, `leader` the current leader's name (nil when unknown): the order to
    /// take them in.
    func order(_ members: [String], leader: String?) throws -> [String]
}
