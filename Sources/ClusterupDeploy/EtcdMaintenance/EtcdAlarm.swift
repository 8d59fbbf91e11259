import ClusterupNodes
import ClusterupCore
import Foundation

/// An alarm as `etcdctl alarm list -w json` reports it. etcd raises NOSPACE when a member's
/// database reaches its quota (every write then fails) and CORRUPT when members' data differ.
public struct EtcdAlarm: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case nospace = "NOSPACE", corrupt = "CORRUPT", unknown = "UNKNOWN"

        /// etcdserverpb.AlarmType: 0 NONE, 1 NOSPACE, 2 CORRUPT.
        init(code: Int) {
            switch code {
            case 1: self = .nospace
            case 2: self = .corrupt
            default: self = .unknown
            }
        }
    }

    public var memberID: UInt64
    public var kind: Kind

    public init(memberID: UInt64, kind: Kind) {
        self.memberID = memberID
        self.kind = kind
    }

    /// `{"alarms":[{"memberID":…,"alarm":1}]}`, or `{}` without alarms.
    public static func parseList(_ json: String, host: String) throws -> [EtcdAlarm] {
        struct List: Decodable {
            struct Entry: Decodable {
                var memberID: UInt64
                var alarm: Int?
            }
            var alarms: [Entry]?
        }
        let trimmed = json.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let start = trimmed.firstIndex(of: "{") else {
            throw ClusterupError.remote("`etcdctl alarm list` printed no list: '\(trimmed.prefix(200))'", host: host)
        }
        do {
            return try JSONDecoder().decode(List.self, from: Data(trimmed[start...].utf8)).alarms?.map {
                EtcdAlarm(memberID: $0.memberID, kind: Kind(code: $0.alarm ?? 0))
            } ?? []
        } catch {
            throw ClusterupError.remote("could not read `etcdctl alarm list` output: \(error)", host: host)
        }
    }
}
