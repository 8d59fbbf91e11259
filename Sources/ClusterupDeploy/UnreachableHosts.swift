import ClusterupCore

/// What deploy does about inventory hosts it cannot connect to. Pure: from who answered, the
/// inventory and `--skip-unreachable`; the phases apply it.
///
/// Without the flag, one unreachable host stops the deploy before anything changes, naming it.
/// With it, the run goes on without those hosts: nothing on them is touched, and nothing that
/// needs them is done (an etcd member is not added for them, a new cluster is not bootstrapped
/// without them); they still count in the others' configuration (HAProxy backends, VRRP peers,
/// etcd membership), because they are still in the inventory.
public enum UnreachableHosts {
    public enum Decision: Sendable, Equatable {
        /// Every host answered.
        case proceed
        /// Go on without these hosts (name -> why it could not be reached).
        case skip([String: String])
        /// Stop before any change; the text says what to do.
        case refuse(String)
    }

    public static func decide(unreachable: [String: String], hosts: [String], skip: Bool) -> Decision {
        guard !unreachable.isEmpty else { return .proceed }
        let names = hosts.filter { unreachable[$0] != nil }
        guard skip else {
            return .refuse("\(names.joined(separator: ", ")) cannot be reached; nothing was changed on any host. Bring \(names.count == 1 ? "it" : "them") back, remove \(names.count == 1 ? "it" : "them") from the inventory (a dead host: its etcd member is removed through a healthy one), or re-run with --skip-unreachable to deploy the others without \(names.count == 1 ? "it" : "them")")
        }
        guard names.count < hosts.count else {
            return .refuse("no host can be reached (\(names.joined(separator: ", "))); nothing was changed")
        }
        return .skip(unreachable)
    }

    /// etcd work that needs a skipped host: a new cluster cannot start without one of its members.
    public static func etcdRefusal(_ plan: EtcdMembershipPlan, skipped: Set<String>) -> String? {
        guard case .bootstrap(let peers) = plan else { return nil }
        let missing = peers.map(\.name).filter(skipped.contains)
        guard !missing.isEmpty else { return nil }
        return "a new etcd cluster starts with all its members, and \(missing.joined(separator: ", ")) cannot be reached: --skip-unreachable cannot bootstrap etcd without \(missing.count == 1 ? "it" : "them")"
    }

    /// The plan without what needs skipped hosts: they are not added as etcd members (their member,
    /// if they have one, stays: it is still in the inventory).
    public static func withoutSkipped(_ plan: EtcdMembershipPlan, skipped: Set<String>) -> (plan: EtcdMembershipPlan, leftOut: [String]) {
        guard case .reconcile(let join, let remove) = plan else { return (plan, []) }
        let leftOut = join.map(\.name).filter(skipped.contains)
        return (.reconcile(join: join.filter { !skipped.contains($0.name) }, remove: remove), leftOut)
    }

    /// What the report says about each skipped host.
    public static func report(_ skipped: [String: String], hosts: [String]) -> [String] {
        hosts.compactMap { name in
            skipped[name].map { "skipped \(name) (unreachable: \($0)): nothing on it was changed; it still counts in the other hosts' configuration (HAProxy backend, VRRP peer, etcd member); re-run deploy once it is back" }
        }
    }

    /// What the report says about an etcd member whose host left the inventory (a dead host is
    /// removed this way): deploy never connects to hosts outside the inventory, so nothing on it
    /// is cleaned, and a host that comes back still runs what it ran.
    public static func leftBehind(member: String, removedThrough anchor: String) -> String {
        "\(member): removed from etcd through \(anchor); it is no longer in the inventory, so deploy did not connect to it and cleaned nothing there: its etcd data, services (etcd, HAProxy, the VRRP daemon, the apiserver) and files stay. If it comes back, stop them before it rejoins the network (its VRRP daemon would take part in the election): `clusterup reset` with an inventory that names only it"
    }
}
