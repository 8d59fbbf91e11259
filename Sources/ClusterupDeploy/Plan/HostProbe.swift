import ClusterupCore

/// The plan's one probe per host: the etcd member's state (etcd hosts) and the state of every
/// file and unit deploy manages there, in two sections.
enum HostProbe {
    static let separator = "@@clusterup-observed-state"

    static func script(etcd: String?, observed: String) -> String {
        (etcd.map { "{\n\($0)}\n" } ?? "") + "echo \(separator)\n" + observed
    }

    static func parse(_ output: String, host: String) throws -> (etcd: EtcdHostFacts?, observed: HostObservedState) {
        guard let range = output.range(of: separator + "\n") ?? output.range(of: separator) else {
            throw ClusterupError.remote("the state probe stopped early: '\(output.suffix(200))'", host: host)
        }
        let before = output[..<range.lowerBound]
        let etcd = before.isEmpty ? nil : try EtcdHostFacts.parse(String(before), host: host)
        return (etcd, try HostObservedState.parse(String(output[range.upperBound...]), host: host))
    }
}
