import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    struct EtcdAlarmsListCommand: AsyncParsableCommand {
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
}
