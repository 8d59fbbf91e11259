import ClusterupCore
import ClusterupSSH

/// What this deploy changes: etcd membership, and per host the difference between what it should
/// have and what it has — the only changes the phases after the plan make. Pure: computed from
/// the desired states (described once, before the probe), what the probe found and the hosts this
/// run leaves out; `PlanReport` renders it.
struct DeployPlan: Sendable {
    var etcd: EtcdMembershipPlan
    /// The member list a running member reported; nil when no member answered.
    var members: [EtcdMember]?
    /// Hosts that would join etcd but are not added, being unreachable (--skip-unreachable).
    var leftOut: [String]
    /// Every host's desired state, with etcd's bootstrap file where a member starts for the first time.
    var desired: [String: HostDesiredState]
    /// Per host; a skipped host (not read) gets none.
    var changes: [String: HostChanges]

    /// Files and unit actions on every host.
    var itemCount: Int { changes.values.reduce(0) { $0 + $1.files.count + $1.units.count } }
    var hostsChanged: Int { changes.values.filter { !$0.isEmpty }.count }
    var isNoChange: Bool { itemCount == 0 && etcd.isNoChange }

    /// - Parameters:
    ///   - desired: every host's desired state but etcd's bootstrap file (`DeployPlanner`).
    ///   - bootstrapFile: renders that file for a member about to start for the first time.
    /// - Throws: `badInput` (exit 2) for what deploy refuses before any change: bootstrapping a new
    ///   etcd cluster without an unreachable member, a joiner older than the cluster's etcd.
    static func make(
        inventory: Inventory, desired: [String: HostDesiredState], observed: ObservedCluster, skipped: Set<String>,
        bootstrapFile: (InventoryHost, EtcdBootstrap) throws -> ManagedFile
    ) throws -> DeployPlan {
        let etcdHosts = inventory.hosts(withRole: .etcd)
        let members = observed.members(etcdHosts: etcdHosts.map(\.name))
        let wanted = try EtcdMembershipPlan.plan(desired: etcdHosts.map(EtcdPeer.init), members: members,
                                                 hostsWithData: observed.hostsWithData)
        if let refusal = UnreachableHosts.etcdRefusal(wanted, skipped: skipped) {
            throw ClusterupError.badInput(refusal, at: inventory.path, hint: "bring the host back, or take it out of the etcd role")
        }
        let (etcd, leftOut) = UnreachableHosts.withoutSkipped(wanted, skipped: skipped)
        if case .reconcile(let join, _) = etcd {
            let started = (members ?? []).filter(\.isStarted).map(\.name)
            if let refusal = EtcdVersionSkew.refusal(
                joining: join.map { ($0.name, observed.etcd[$0.name]?.version) },
                members: started.map { ($0, observed.etcd[$0]?.version) }) {
                throw ClusterupError.badInput(refusal.message, at: inventory.path, hint: refusal.hint)
            }
        }

        var complete = desired
        for (name, bootstrap) in etcd.bootstraps(members: members) {
            guard let host = inventory.host(named: name) else { continue }
            complete[name, default: HostDesiredState(host: name)].add(try bootstrapFile(host, bootstrap))
        }
        var changes: [String: HostChanges] = [:]
        for host in inventory.hosts {
            let state = complete[host.name] ?? HostDesiredState(host: host.name)
            changes[host.name] = observed.hosts[host.name].map { HostChanges.plan(desired: state, observed: $0, hash: sha256Hex) }
                ?? HostChanges(host: host.name)
        }
        return DeployPlan(etcd: etcd, members: members, leftOut: leftOut, desired: complete, changes: changes)
    }
}
