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
            subcommands: [EtcdAlarmsList.self, EtcdAlarmsDisarm.self],
            defaultSubcommand: EtcdAlarmsList.self)

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

    struct EtcdAlarmsList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the alarms (the default).")

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let loaded = try inventory.load()
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            let survey = try await EtcdSurvey.read(inventory: loaded, settings: loaded.deploy, sessions: sessions)
            let quota = EtcdQuota.bytes(loaded.deploy.etcd)
            if output.isJSON {
                print(EtcdAlarmsCommand.json(survey, quota: quota).pretty)
            } else {
                print(EtcdAlarmsCommand.table(survey, quota: quota), terminator: "")
                print(survey.alarms.isEmpty ? "no alarms" : "\(survey.alarms.count) alarm(s): writes may fail; see `clusterup etcd alarms disarm --help`")
            }
            if !survey.alarms.isEmpty { throw ExitCode(1) }
        }
    }

    struct EtcdAlarmsDisarm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disarm",
            abstract: "Clear the alarms once their cause is gone; refuses otherwise.",
            discussion: """
            NOSPACE is disarmed only when every member's database file leaves at least 10% of the quota free (after `clusterup etcd defrag --compact`); a CORRUPT alarm is never disarmed here (recover the member instead). Refusals exit 2 and say what to do; nothing is disarmed then.
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Check whether the alarms could be disarmed and change nothing.")
        var dryRun = false

        func run() async throws {
            let loaded = try inventory.load()
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            let survey = try await EtcdSurvey.read(inventory: loaded, settings: loaded.deploy, sessions: sessions)
            let quota = EtcdQuota.bytes(loaded.deploy.etcd)
            if survey.alarms.isEmpty {
                print(output.isJSON ? EtcdAlarmsCommand.json(survey, quota: quota, disarmed: false).pretty : "no alarms to disarm")
                return
            }
            if dryRun {
                let refusals = EtcdAlarmDisarm.refusals(alarms: survey.alarms, states: survey.members, quota: quota)
                if output.isJSON {
                    var value = EtcdAlarmsCommand.json(survey, quota: quota, disarmed: false)
                    if case .object(var fields) = value { fields.append(("refusals", .strings(refusals))); value = .object(fields) }
                    print(value.pretty)
                } else {
                    print(refusals.isEmpty ? "would disarm \(survey.alarms.count) alarm(s): their cause is gone"
                                           : "would refuse:\n  " + refusals.joined(separator: "\n  "))
                }
                return
            }
            let left = try await EtcdAlarms.disarm(survey: survey, inventory: loaded, settings: loaded.deploy, sessions: sessions)
            var after = survey
            after.alarms = left
            if output.isJSON {
                print(EtcdAlarmsCommand.json(after, quota: quota, disarmed: left.isEmpty).pretty)
            } else {
                print(left.isEmpty ? "disarmed \(survey.alarms.count) alarm(s); writes are accepted again"
                                   : "\(left.count) alarm(s) came back at once: \(left.map(\.kind.rawValue).joined(separator: ", ")); see `clusterup etcd alarms`")
            }
            if !left.isEmpty { throw ExitCode(1) }
        }
    }
}
