import ClusterupCore
import Foundation

/// One member's `etcdctl endpoint status -w json` entry: sizes, leader, raft progress and the
/// alarms it reports. Sizes are bytes.
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

    public init(endpoint: String, memberID: UInt64, revision: Int64 = 0, dbSize: Int64, dbSizeInUse: Int64, leader: UInt64,
                raftIndex: UInt64 = 0, raftAppliedIndex: UInt64 = 0, errors: [String] = []) {
        self.endpoint = endpoint
        self.memberID = memberID
        self.revision = revision
        self.dbSize = dbSize
        self.dbSizeInUse = dbSizeInUse
        self.leader = leader
        self.raftIndex = raftIndex
        self.raftAppliedIndex = raftAppliedIndex
        self.errors = errors
    }

    public var isLeader: Bool { memberID == leader }

    /// The share of the database file that a defragmentation would give back (0…1).
    public var freeFraction: Double {
        dbSize > 0 ? Double(max(0, dbSize - dbSizeInUse)) / Double(dbSize) : 0
    }

    /// etcdctl 3.4 and 3.5 print one array entry per endpoint.
    public static func parseList(_ json: String, host: String) throws -> [EtcdEndpointStatus] {
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
                    raftIndex: e.Status.raftIndex ?? 0, raftAppliedIndex: e.Status.raftAppliedIndex ?? 0,
                    errors: (e.Status.errors ?? []).map { $0.trimmingCharacters(in: .whitespaces) })
            }
        } catch {
            throw ClusterupError.remote("could not read `etcdctl endpoint status` output: \(error)", host: host)
        }
    }
}

/// A member of the cluster with its status, as the maintenance commands see it: the member list
/// gives names, the endpoint status gives sizes and leadership. `status` is nil for a member
/// that did not answer.
public struct EtcdMemberState: Sendable, Equatable {
    public var member: EtcdMember
    public var status: EtcdEndpointStatus?

    public init(member: EtcdMember, status: EtcdEndpointStatus?) {
        self.member = member
        self.status = status
    }

    public var name: String { member.name.isEmpty ? member.hexID : member.name }

    /// Joins `member list` and `endpoint status --cluster` by member ID.
    public static func join(members: [EtcdMember], statuses: [EtcdEndpointStatus]) -> [EtcdMemberState] {
        members.map { member in EtcdMemberState(member: member, status: statuses.first { $0.memberID == member.id }) }
    }

    /// The member every answering endpoint names as leader, when they agree.
    public static func leader(of states: [EtcdMemberState]) -> EtcdMemberState? {
        let leaders = Set(states.compactMap(\.status?.leader))
        guard leaders.count == 1, let id = leaders.first else { return nil }
        return states.first { $0.member.id == id }
    }
}
