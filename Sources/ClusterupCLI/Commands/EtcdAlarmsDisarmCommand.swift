import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    struct EtcdAlarmsDisarmCommand: AsyncParsableCommand {
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
