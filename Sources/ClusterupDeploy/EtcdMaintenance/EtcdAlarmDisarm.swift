import ClusterupNodes
import ClusterupCore

/// Whether `etcd alarms disarm` may clear the alarms: only when their cause is gone. A NOSPACE
/// alarm cleared while the database still fills the quota comes straight back on the next
/// write; a CORRUPT alarm is never cleared here (the member's data differs from the others').
public enum EtcdAlarmDisarm {
    /// A member's database file must leave at least this share of the quota free.
    public static let headroom = 0.1

    /// The reasons to refuse; empty when disarming is safe.
    public static func refusals(alarms: [EtcdAlarm], states: [EtcdMemberState], quota: Int64) -> [String] {
        var reasons: [String] = []
        func name(_ id: UInt64) -> String { states.first { $0.member.id == id }?.name ?? String(id, radix: 16) }
        for alarm in alarms where alarm.kind != .nospace {
            reasons.append("\(name(alarm.memberID)) has a \(alarm.kind.rawValue) alarm: its data differs from the others'; restore it (`clusterup etcd recover`) instead of disarming")
        }
        guard alarms.contains(where: { $0.kind == .nospace }) else { return reasons }
        let limit = Int64(Double(quota) * (1 - headroom))
        for state in states {
            guard let status = state.status else {
                reasons.append("\(state.name) does not answer: its database size cannot be checked")
                continue
            }
            if status.dbSize > limit {
                let compacted = status.dbSizeInUse <= limit
                reasons.append("\(state.name)'s database is \(ByteCount(status.dbSize)) of a \(ByteCount(quota)) quota (\(ByteCount(status.dbSizeInUse)) in use): "
                    + (compacted ? "defragment it first (`clusterup etcd defrag`)"
                                 : "compact and defragment first (`clusterup etcd defrag --compact`), or raise --quota-backend-bytes in etcd.extra_args"))
            }
        }
        return reasons
    }
}

/// Bytes for people: 1.0 MiB, 2.0 GiB.
public struct ByteCount: CustomStringConvertible, Sendable {
    public var bytes: Int64
    public init(_ bytes: Int64) { self.bytes = bytes }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
