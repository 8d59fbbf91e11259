import ArgumentParser

extension Clusterup {
    /// `clusterup etcd backup|restore`.
    struct Etcd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up and restore the etcd cluster.",
            subcommands: [EtcdBackupCommand.self, EtcdRestoreCommand.self])
    }
}
