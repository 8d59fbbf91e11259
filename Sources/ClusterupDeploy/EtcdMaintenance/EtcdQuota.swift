import ClusterupNodes
import ClusterupCore

/// The backend quota the members run with: `--quota-backend-bytes` from the inventory's
/// `etcd.extra_args`, else etcd's default (2 GiB in 3.4 and 3.5).
public enum EtcdQuota {
    public static let etcdDefault: Int64 = 2 * 1024 * 1024 * 1024

    public static func bytes(_ settings: EtcdSettings) -> Int64 {
        var value: Int64? = nil
        var arguments = settings.extraArgs.makeIterator()
        while let argument = arguments.next() {
            // Both spellings etcd accepts: `--flag=N` and `--flag N`; the last one given wins.
            if let range = argument.range(of: "quota-backend-bytes=") {
                value = Int64(argument[range.upperBound...]) ?? value
            } else if argument == "--quota-backend-bytes" || argument == "-quota-backend-bytes" {
                value = arguments.next().flatMap { Int64($0) } ?? value
            }
        }
        // etcd treats 0 (and less) as "use the default".
        guard let value, value > 0 else { return etcdDefault }
        return value
    }
}
