import ArgumentParser

extension Clusterup {
    /// `clusterup etcd backup|restore`.
    struct EtcdCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "etcd",
            abstract: "Back up, restore, defragment and recover the etcd cluster; list and disarm its alarms.",
            subcommands: [EtcdBackupCommand.self, EtcdRestoreCommand.self, EtcdDefragCommand.self, EtcdAlarmsCommand.self, EtcdRecoverCommand.self])
    }
}
