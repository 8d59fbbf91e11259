import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup etcd alarms [INVENTORY]` and `etcd alarms disarm`.
    struct EtcdAlarmsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "alarms",
            abstract: "List etcd's alarms (NOSPACE, CORRUPT) with each member's database size and quota.",
            discussion: """
            etcd raises NOSPACE when a member's database file reaches its quota (--quota-backend-bytes in etcd.extra_args; 2 GiB by default): every write then fails until the alarm is disarmed. Exits 1 when an alarm is active.

            Examples:
              clusterup etcd alarms
              clusterup etcd defrag --all --compact && clusterup etcd alarms disarm
            """,
            subcommands: [EtcdAlarmsListCommand.self, EtcdAlarmsDisarmCommand.self],
            defaultSubcommand: EtcdAlarmsListCommand.self)

        static func table(_ survey: EtcdSurvey, quota: Int64) -> String {
            let rows = survey.members.map { state -> [String] in
                let alarms = survey.alarms.filter { $0.memberID == state.member.id }.map(\.kind.rawValue)
                return [state.name, state.status.map { "\(ByteCount($0.dbSize))" } ?? "no answer",
                        state.status.map { "\(ByteCount($0.dbSizeInUse))" } ?? "-", "\(ByteCount(quota))",
                        alarms.isEmpty ? "none" : alarms.joined(separator: ",")]
            }
            return TextTable.render(header: ["MEMBER", "SIZE", "IN USE", "QUOTA", "ALARMS"], rows: rows)
        }

        static func json(_ survey: EtcdSurvey, quota: Int64, disarmed: Bool? = nil) -> JSONValue {
            var fields: [(String, JSONValue)] = [
                ("quota", .int(quota)),
                ("alarms", .array(survey.alarms.map { alarm in
                    .object([("member", .string(survey.members.first { $0.member.id == alarm.memberID }?.name ?? String(alarm.memberID, radix: 16))),
                             ("alarm", .string(alarm.kind.rawValue))])
                })),
                ("members", .array(survey.members.map { state in
                    .object([("name", .string(state.name)), ("size", state.status.map { .int($0.dbSize) } ?? .null),
                             ("in_use", state.status.map { .int($0.dbSizeInUse) } ?? .null)])
                })),
            ]
            if let disarmed { fields.append(("disarmed", .bool(disarmed))) }
            return .object(fields)
        }
    }

}
