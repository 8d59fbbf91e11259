import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension ClusterupLab.Lab.StopMode: ExpressibleByArgument {}

extension Clusterup.Lab {
    struct Node: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node",
            abstract: "Stop or start one lab node.",
            discussion: """
            Examples:
              clusterup lab node stop node2               # clean poweroff
              clusterup lab node stop node2 --mode kill   # as on power loss
              clusterup lab node start node2
            """,
            subcommands: [Stop.self, Start.self])

        struct Stop: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stop a node (its disk stays; `start` boots it again).")

            @OptionGroup var lab: Clusterup.LabNameOptions
            @Argument(help: "Node name (node1, ...).") var node: String
            @Option(name: .long, help: "poweroff (clean shutdown) or kill (SIGKILL to its init, like a power cut).")
            var mode: ClusterupLab.Lab.StopMode = .poweroff

            func run() async throws {
                try await ClusterupLab.Lab.stopNode(node, lab: lab.name, mode: mode)
                print("\(node) stopped")
            }
        }

        struct Start: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Boot a stopped node and wait until its sshd answers.")

            @OptionGroup var lab: Clusterup.LabNameOptions
            @Argument(help: "Node name (node1, ...).") var node: String

            func run() async throws {
                try await ClusterupLab.Lab.startNode(node, lab: lab.name)
                print("\(node) started")
            }
        }
    }
}
