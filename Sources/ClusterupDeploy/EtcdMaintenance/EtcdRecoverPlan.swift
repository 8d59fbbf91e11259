import ClusterupNodes
import ClusterupCore
import Foundation

/// What `etcd recover` does after a lost quorum, decided from what each etcd host reports:
/// which host seeds the one-member cluster (from its own data or from a snapshot), and which
/// hosts then rejoin it with fresh data, one at a time in inventory order. Pure.
public struct EtcdRecoverPlan: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// The surviving member's data, restarted with --force-new-cluster.
        case member(String)
        /// A snapshot file on this machine, restored on the seed host.
        case snapshot(String)
    }

    /// One etcd host's answer to the recover probe.
    public struct HostFacts: Sendable, Equatable {
        public var reachable: Bool
        /// `systemctl is-active etcd`.
        public var active: Bool
        /// The member answered `endpoint health`: etcd 3.4 and 3.5 answer only with a quorum.
        public var healthy: Bool
        public var hasData: Bool

        public init(reachable: Bool, active: Bool = false, healthy: Bool = false, hasData: Bool = false) {
            self.reachable = reachable
            self.active = active
            self.healthy = healthy
            self.hasData = hasData
        }
    }

    public var source: Source
    /// The host the one-member cluster starts on.
    public var seed: String
    /// Hosts whose data moves aside and which join the recovered cluster, in this order.
    public var rejoin: [String]
    /// Unreachable hosts left out (only with --force); a later `clusterup deploy` adds them.
    public var leftOut: [String]

    /// - Parameters:
    ///   - etcdHosts: the inventory's etcd hosts, in inventory order.
    ///   - facts: host → what it reported; a host missing here was not reachable.
    public static func plan(etcdHosts: [String], facts: [String: HostFacts], source: Source, force: Bool) throws -> EtcdRecoverPlan {
        guard !etcdHosts.isEmpty else {
            throw ClusterupError.badInput("the inventory has no etcd hosts", hint: "give hosts the etcd role")
        }
        func reachable(_ host: String) -> Bool { facts[host]?.reachable ?? false }
        let healthy = etcdHosts.filter { facts[$0]?.healthy ?? false }
        if !healthy.isEmpty && !force {
            throw ClusterupError.badInput(
                "etcd still has a quorum: \(healthy.joined(separator: ", ")) answer\(healthy.count == 1 ? "s" : "") as healthy; recover would throw away the members that still agree",
                at: "--yes",
                hint: "replace a lost member with `clusterup deploy` instead; to recover anyway (losing writes since the source), add --force")
        }
        let seed: String
        switch source {
        case .member(let name):
            guard etcdHosts.contains(name) else {
                throw ClusterupError.badInput(
                    "\(name) is not an etcd host of the inventory", at: "--from-member",
                    hint: "give one of \(etcdHosts.joined(separator: ", "))")
            }
            guard reachable(name) else {
                throw ClusterupError.badInput("\(name) cannot be reached: its data cannot seed the recovered cluster", at: "--from-member",
                                              hint: "choose another surviving member, or --from-snapshot FILE")
            }
            guard facts[name]?.hasData ?? false else {
                throw ClusterupError.badInput("\(name) holds no etcd data to recover from", at: "--from-member",
                                              hint: "choose a member that kept its data directory, or --from-snapshot FILE")
            }
            seed = name
        case .snapshot:
            guard let first = etcdHosts.first(where: reachable) else {
                throw ClusterupError.badInput("no etcd host can be reached to restore the snapshot on", at: "--from-snapshot",
                                              hint: "bring one etcd host back first")
            }
            seed = first
        }
        let others = etcdHosts.filter { $0 != seed }
        let leftOut = others.filter { !reachable($0) }
        if !leftOut.isEmpty && !force {
            throw ClusterupError.badInput(
                "\(leftOut.joined(separator: ", ")) cannot be reached: recover would leave them out of the cluster", at: "--yes",
                hint: "bring them back first, or add --force and run `clusterup deploy` once they are back")
        }
        return EtcdRecoverPlan(source: source, seed: seed, rejoin: others.filter(reachable), leftOut: leftOut)
    }

    /// When a snapshot was taken: the UTC stamp clusterup puts in its names
    /// (`etcd-prod-20261122T060000Z.db`), else nil (the caller falls back to the file's time).
    public static func snapshotTime(fileName: String) -> Date? {
        let base = (fileName as NSString).lastPathComponent
        guard let match = base.firstMatch(of: /(\d{8}T\d{6}Z)/) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: String(match.1))
    }
}
