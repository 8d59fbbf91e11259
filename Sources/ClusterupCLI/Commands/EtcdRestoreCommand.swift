import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup etcd restore [INVENTORY] SNAPSHOT --yes`.
    struct EtcdRestoreCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore every etcd member from a snapshot (stops etcd on all members).",
            discussion: """
            Checks the snapshot against SNAPSHOT.sha256 when present, takes the deploy lock, uploads the snapshot to every etcd member and checks its sha256 there (nothing is stopped if any of this fails), then stops etcd on all members, moves each data directory aside to <data dir>.before-restore-<time>, restores the snapshot with the member's --name, --initial-cluster and --initial-advertise-peer-urls, starts all members and waits until each is healthy. Writes made after the snapshot are lost; the apiservers see the restored state.

            Example:
              clusterup etcd restore lab.yml etcd-backups/etcd-lab-20261122T060000Z.db --yes
            """)

        @Argument(help: "The inventory file (optional; default $CLUSTERUP_INVENTORY, else ./inventory.yml), then the snapshot file.")
        var paths: [String] = []

        @OptionGroup var ssh: SSHOptions

        @Flag(help: "Confirm: etcd is stopped on every member and its data replaced by the snapshot's.")
        var yes = false

        @Option(help: "Seconds to wait for each member to become healthy.")
        var healthTimeout: Int = 90

        func validate() throws {
            guard (1...2).contains(paths.count) else { throw ValidationError("give the snapshot file, optionally after the inventory") }
        }

        func run() async throws {
            guard yes else {
                throw ClusterupError.badInput(
                    "restore stops etcd on every member and replaces its data; refusing without --yes", at: "--yes",
                    hint: "take a backup first (`clusterup etcd backup`), then re-run with --yes")
            }
            let loaded = try InventoryLoader().loadLocated(paths.count == 2 ? paths[0] : nil)
            let snapshot = paths.last!
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            // Ctrl-C must not leave etcd stopped half-way: the running step finishes on every
            // member, the rest is skipped, and the report says what state etcd is in.
            let timeout = healthTimeout
            let task = Task {
                try await EtcdRestore.run(
                    inventory: loaded, settings: loaded.deploy, sessions: sessions, snapshot: snapshot,
                    healthTimeout: .seconds(timeout), note: { print($0) })
            }
            let interrupt = InterruptHandler { task.cancel() }
            defer { interrupt.remove() }
            do {
                let result = try await task.value
                for (host, path) in result.movedAside.sorted(by: { $0.key < $1.key }) {
                    print("\(host): previous data directory kept at \(path)")
                }
                print("etcd restored from \(snapshot): \(result.members.count) member(s) healthy (\(result.members.joined(separator: ", ")))")
            } catch let failure as DeployFailure {
                printError(failure.description)
                throw ExitCode(1)
            }
        }
    }
}
