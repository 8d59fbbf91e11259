import ClusterupCore
import Foundation

/// One member's `etcdctl endpoint status -w json` entry (etcd 3.4 and 3.5): sizes, leader, raft
/// progress, version and the alarms it reports. Sizes are bytes. Status, defrag, the rollout's
/// member order and verify read it from here.
public struct EtcdEndpointStatus: Sendable, Equatable, Codable {
    public var endpoint: String
    public var memberID: UInt64
    public var revision: Int64
    public var dbSize: Int64
    public var dbSizeInUse: Int64
    public var leader: UInt64
    public var raftIndex: UInt64
    public var raftAppliedIndex: UInt64
    /// etcd's own words, e.g. "memberID:3319… alarm:NOSPACE".
    public var errors: [String]
    public var version: String

    public init(endpoint: String, memberID: UInt64, revision: Int64 = 0, dbSize: Int64 = 0, dbSizeInUse: Int64 = 0, leader: UInt64,
                raftIndex: UInt64 = 0, raftAppliedIndex: UInt64 = 0, errors: [String] = [], version: String = "") {
        self.endpoint = endpoint
        self.memberID = memberID
        self.revision = revision
        self.dbSize = dbSize
        self.dbSizeInUse = dbSizeInUse
        self.leader = leader
        self.raftIndex = raftIndex
        self.raftAppliedIndex = raftAppliedIndex
        self.errors = errors
        self.version = version
    }

    public var isLeader: Bool { memberID == leader }

    /// The share of the database file that a defragmentation would give back (0…1).
    public var freeFraction: Double {
        dbSize > 0 ? Double(max(0, dbSize - dbSizeInUse)) / Double(dbSize) : 0
    }

    /// The alarms the member reports, from its `errors`: each with the member it is about.
    public var alarms: [(memberID: UInt64?, alarm: String)] { errors.compactMap(Self.alarm(in:)) }

    /// "memberID:3319814642761637952 alarm:NOSPACE" → (3319814642761637952, "NOSPACE").
    public static func alarm(in error: String) -> (memberID: UInt64?, alarm: String)? {
        let words = error.split(whereSeparator: \.isWhitespace)
        guard let alarm = words.first(where: { $0.hasPrefix("alarm:") })?.dropFirst("alarm:".count), !alarm.isEmpty else { return nil }
        let id = words.first { $0.hasPrefix("memberID:") }.flatMap { UInt64($0.dropFirst("memberID:".count)) }
        return (id, String(alarm))
    }

    /// Raft entries this member has still to apply of those the leader has.
    public func lag(behind leader: EtcdEndpointStatus) -> UInt64 {
        leader.raftIndex > raftAppliedIndex ? leader.raftIndex - raftAppliedIndex : 0
    }

    /// The member ID every answering endpoint names as leader; nil when they disagree or none answers.
    public static func agreedLeader(_ statuses: some Sequence<EtcdEndpointStatus>) -> UInt64? {
        let leaders = Set(statuses.map(\.leader))
        return leaders.count == 1 ? leaders.first : nil
    }

    /// A member further behind than this is lagging (status reports it, verify fails): a healthy
    /// member follows within a few entries; etcd itself sends a snapshot past 5000.
    public static let laggingAfter: UInt64 = 1000

    /// etcdctl 3.4 and 3.5 print one array entry per endpoint.
    public static func parse(_ json: String, host: String) throws -> [EtcdEndpointStatus] {
        struct Entry: Decodable {
            struct Header: Decodable {
                var member_id: UInt64
                var revision: Int64?
            }
            struct Status: Decodable {
                var header: Header
                var dbSize: Int64
                var dbSizeInUse: Int64?
                var leader: UInt64
                var raftIndex: UInt64?
                var raftAppliedIndex: UInt64?
                var errors: [String]?
                var version: String?
            }
            var Endpoint: String
            var Status: Status
        }
        let trimmed = json.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let start = trimmed.firstIndex(of: "["), let end = trimmed.lastIndex(of: "]") else {
            throw ClusterupError.remote("`etcdctl endpoint status` printed no status: '\(trimmed.prefix(200))'", host: host)
        }
        do {
            return try JSONDecoder().decode([Entry].self, from: Data(trimmed[start...end].utf8)).map { e in
                EtcdEndpointStatus(
                    endpoint: e.Endpoint, memberID: e.Status.header.member_id, revision: e.Status.header.revision ?? 0,
                    dbSize: e.Status.dbSize, dbSizeInUse: e.Status.dbSizeInUse ?? e.Status.dbSize, leader: e.Status.leader,
                    raftIndex: e.Status.raftIndex ?? 0, raftAppliedIndex: e.Status.raftAppliedIndex ?? e.Status.raftIndex ?? 0,
                    errors: (e.Status.errors ?? []).map { $0.trimmingCharacters(in: .whitespaces) }, version: e.Status.version ?? "")
            }
        } catch {
            throw ClusterupError.remote("could not read `etcdctl endpoint status` output: \(error)", host: host)
        }
    }
}

