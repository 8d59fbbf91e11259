import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup etcd backup [INVENTORY] [--output-dir DIR]`.
    struct EtcdBackupCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Take an etcd snapshot on a healthy member and copy it to this machine.",
            discussion: """
            The snapshot (`etcdctl snapshot save`, over TLS) is taken on the first healthy etcd member, kept on it under the inventory's etcd backup directory, and copied here with its sha256 checked against the node's. The local copy is written 0600 in a 0700 directory (a snapshot holds every secret of the cluster), with DIR/NAME.db.sha256 beside it.

            Examples:
              clusterup etcd backup --output-dir /srv/backups/etcd
              clusterup etcd backup --fetch      # the newest scheduled snapshot (etcd.snapshots)
              clusterup etcd restore /srv/backups/etcd/etcd-prod-20261122T060000Z.db --yes
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("Where to write the snapshot on this machine.", discussion: "Default: etcd-backups beside the inventory."))
        var outputDir: String?

        @Flag(help: "Take no snapshot: copy the newest one already on an etcd host (etcd.snapshots' or an earlier backup's).")
        var fetch = false

        func run() async throws {
            let loaded = try inventory.load()
            let directory = outputDir ?? URL(fileURLWithPath: loaded.path).deletingLastPathComponent().appendingPathComponent("etcd-backups").path
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            let result = fetch
                ? try await EtcdBackup.fetch(inventory: loaded, settings: loaded.deploy, sessions: sessions, outputDirectory: directory)
                : try await EtcdBackup.run(inventory: loaded, settings: loaded.deploy, sessions: sessions, outputDirectory: directory)
            if output.isJSON {
                print(JSONValue.object([
                    ("member", .string(result.member)), ("remote_path", .string(result.remotePath)),
                    ("local_path", .string(result.localPath)), ("sha256", .string(result.sha256)),
                    ("bytes", .int(Int64(result.bytes))), ("revision", result.revision.map { .int($0) } ?? .null),
                ]).pretty)
            } else {
                print("""
                etcd snapshot \(fetch ? "fetched from" : "taken on") \(result.member)\(result.revision.map { " at revision \($0)" } ?? "")
                  local:  \(result.localPath) (\(result.bytes) bytes, 0600)
                  sha256: \(result.sha256)
                  kept on \(result.member): \(result.remotePath)
                """)
            }
        }
    }
}
