import ClusterupCore
import Foundation

/// A member as `etcdctl member list -w json` reports it.
public struct EtcdMember: Sendable, Equatable, Decodable {
    public var id: UInt64
    /// Empty until the member has started for the first time.
    public var name: String
    public var peerURLs: [String]
    public var clientURLs: [String]

    public init(id: UInt64, name: String, peerURLs: [String], clientURLs: [String] = []) {
        self.id = id
        self.name = name
        self.peerURLs = peerURLs
        self.clientURLs = clientURLs
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID", name, peerURLs, clientURLs
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(UInt64.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        peerURLs = try c.decodeIfPresent([String].self, forKey: .peerURLs) ?? []
        clientURLs = try c.decodeIfPresent([String].self, forKey: .clientURLs) ?? []
    }

    /// etcdctl takes member IDs in hex.
    public var hexID: String { String(id, radix: 16) }

    public var isStarted: Bool { !name.isEmpty }

    public static func parseList(_ json: String, host: String) throws -> [EtcdMember] {
        struct List: Decodable { var members: [EtcdMember]? }
        do {
            return try JSONDecoder().decode(List.self, from: Data(json.utf8)).members ?? []
        } catch {
            throw ClusterupError.remote("could not read `etcdctl member list` output: \(error)", host: host)
        }
    }
}

/// A host that should run an etcd member.
public struct EtcdPeer: Sendable, Equatable {
    public var name: String
    public var address: String

    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }

    /// The member an inventory host runs: its name, on its private address.
    public init(_ host: InventoryHost) {
        self.init(name: host.name, address: host.privateAddress)
    }

    public var peerURL: String { "https://\(EtcdPeer.hostPort(address, 2380))" }
    public var clientURL: String { "https://\(EtcdPeer.hostPort(address, 2379))" }

    static func hostPort(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// What deploy does to etcd membership. Pure: computed from the inventory's etcd hosts, which of
/// them already hold member data, and the member list a running member reports.
public enum EtcdMembershipPlan: Sendable, Equatable {
    /// No member exists anywhere: start all together with `initial-cluster-state=new`.
    case bootstrap([EtcdPeer])
    /// A cluster runs. Join the new peers one at a time (member add, then start with
    /// `initial-cluster-state=existing`), and remove members no longer in the inventory, removing
    /// them from the cluster before their host is touched.
    case reconcile(join: [EtcdPeer], remove: [EtcdMember])

    public var isNoChange: Bool { self == .reconcile(join: [], remove: []) }

    /// - Parameters:
    ///   - desired: the inventory's etcd hosts, in inventory order.
    ///   - members: the list from a running member; nil when no member answers.
    ///   - hostsWithData: hosts whose etcd data directory already holds a member.
    public static func plan(desired: [EtcdPeer], members: [EtcdMember]?, hostsWithData: Set<String>) throws -> Self {
        guard let members else {
            if hostsWithData.isEmpty { return .bootstrap(desired) }
            // Data but nobody answers: starting fresh members beside old data would split the
            // cluster. The operator must bring a member up (or restore a backup) first.
            throw ClusterupError.remote(
                "etcd data exists on \(hostsWithData.sorted().joined(separator: ", ")) but no member answers",
                hint: "start etcd there (`systemctl start etcd`) or run `clusterup etcd restore`; deploy will not bootstrap a second cluster beside existing data")
        }
        let byPeerURL = Dictionary(members.flatMap { m in m.peerURLs.map { ($0, m) } }, uniquingKeysWith: { a, _ in a })
        let join = desired.filter { peer in
            // A member added earlier but never started (a deploy interrupted between
            // `member add` and start) joins again without another add.
            guard let member = byPeerURL[peer.peerURL] else { return true }
            return !member.isStarted && !hostsWithData.contains(peer.name)
        }
        let desiredURLs = Set(desired.map(\.peerURL))
        let remove = members.filter { member in !member.peerURLs.contains { desiredURLs.contains($0) } }
        if !remove.isEmpty && remove.count == members.count {
            throw ClusterupError.badInput(
                "the inventory keeps none of the running etcd members (\(remove.map { $0.name.isEmpty ? $0.hexID : $0.name }.joined(separator: ", "))); deploy would destroy the cluster",
                hint: "keep at least one current etcd host in the inventory, or `clusterup reset` first to start anew")
        }
        return .reconcile(join: join, remove: remove)
    }

    /// `--initial-cluster` for a peer that joins: the started members plus itself.
    public static func initialCluster(joining peer: EtcdPeer, members: [EtcdMember]) -> String {
        var entries = members.filter { $0.isStarted && !$0.peerURLs.contains(peer.peerURL) }
            .flatMap { m in m.peerURLs.map { "\(m.name)=\($0)" } }
        entries.append("\(peer.name)=\(peer.peerURL)")
        return entries.joined(separator: ",")
    }

    public static func initialCluster(bootstrapping peers: [EtcdPeer]) -> String {
        peers.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
    }

    /// What each member that starts for the first time is told (etcd's bootstrap file): all the
    /// peers of a new cluster; for joiners, who come one at a time, the members before each.
    /// Running members get none: they never see a change when the cluster grows.
    public func bootstraps(members: [EtcdMember]?) -> [String: EtcdBootstrap] {
        var bootstraps: [String: EtcdBootstrap] = [:]
        switch self {
        case .bootstrap(let peers):
            let cluster = Self.initialCluster(bootstrapping: peers)
            for peer in peers { bootstraps[peer.name] = EtcdBootstrap(initialCluster: cluster, state: .new) }
        case .reconcile(let join, _):
            var current = members ?? []
            for peer in join {
                bootstraps[peer.name] = EtcdBootstrap(initialCluster: Self.initialCluster(joining: peer, members: current), state: .existing)
                current.append(EtcdMember(id: 0, name: peer.name, peerURLs: [peer.peerURL]))
            }
        }
        return bootstraps
    }
}

/// `ETCD_INITIAL_CLUSTER` and `ETCD_INITIAL_CLUSTER_STATE` for a member's first start.
public struct EtcdBootstrap: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case new, existing
    }

    public var initialCluster: String
    public var state: State

    public init(initialCluster: String, state: State) {
        self.initialCluster = initialCluster
        self.state = state
    }
}

/// An etcd release as `etcd --version` prints it (`3.5.16`).
public struct EtcdVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return nil }
        self.major = major
        self.minor = minor
        self.patch = parts.count > 2 ? parts[2] ?? 0 : 0
    }

    /// The cluster version etcd negotiates: major.minor.
    public var series: String { "\(major).\(minor)" }
    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}

/// etcd refuses a member older than its cluster: once every member runs 3.5 the cluster version
/// is 3.5, and a 3.4 member exits with "the running cluster version(3.5.0) is higher than the
/// maximum cluster version(3.4.0) supported" after `member add` has counted it (a Debian 12 node
/// joining a cluster of Debian 13 nodes). Newer members join an older cluster, which stays at the
/// older version until all run the newer one. Pure: from versions the plan read.
public enum EtcdVersionSkew {
    public struct Refusal: Sendable, Equatable {
        public var message: String
        public var hint: String
    }

    /// The refusal when a joiner runs an older major.minor than the cluster's, which is the
    /// lowest of its started members'. Members or joiners whose version is unknown do not count.
    public static func refusal(joining: [(name: String, version: EtcdVersion?)],
                               members: [(name: String, version: EtcdVersion?)]) -> Refusal? {
        let known = members.compactMap { member in member.version.map { (member.name, $0) } }
        guard let cluster = known.map(\.1).min() else { return nil }
        let older = joining.compactMap { joiner -> String? in
            guard let version = joiner.version, (version.major, version.minor) < (cluster.major, cluster.minor) else { return nil }
            return "\(joiner.name) runs etcd \(version)"
        }
        guard !older.isEmpty else { return nil }
        let running = known.sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return Refusal(
            message: "\(older.joined(separator: ", ")), older than the cluster's version \(cluster.series) (\(running)): etcd refuses a member older than its cluster, after `member add` counted it; no host was changed",
            hint: "join hosts whose etcd is \(cluster.series) or newer (a Debian 12 cluster takes Debian 13 members, not the reverse), or leave these hosts out of the etcd role")
    }
}
