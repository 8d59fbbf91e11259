/// What the plan's probe found on the hosts: every file and unit deploy manages, per host, and
/// each etcd host's member facts (the member list from one running member). A host this run
/// leaves out (unreachable) is not in it. A value: the plan is computed from it without I/O.
struct ObservedCluster: Sendable, Equatable {
    var hosts: [String: HostObservedState] = [:]
    var etcd: [String: EtcdHostFacts] = [:]

    /// The member list, from the first etcd host (in inventory order) that gave one; nil when no
    /// member answered.
    func members(etcdHosts: [String]) -> [EtcdMember]? {
        etcdHosts.lazy.compactMap { etcd[$0]?.members }.first
    }

    /// The etcd hosts whose data directory already holds a member.
    var hostsWithData: Set<String> { Set(etcd.filter(\.value.hasData).keys) }

    /// When the host asked for the member list gave none (its member is down), the first etcd
    /// host whose member runs, to ask instead; nil when the list is there or no member runs.
    func memberListFallback(etcdHosts: [String]) -> String? {
        guard let first = etcdHosts.first, etcd[first]?.members == nil else { return nil }
        return etcdHosts.first { etcd[$0]?.active == true }
    }
}
