import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup.Lab {
    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "link",
            abstract: "Cut a node off the lab's bridge, or restore it (the node keeps running).",
            discussion: """
            Sets the host side of the node's veth (vb-MACHINE) down or up.

            Examples:
              clusterup lab link cut node1
              clusterup lab link restore node1
            """,
            subcommands: [Cut.self, Restore.self])

        struct Cut: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Cut a node's link.")
            @OptionGroup var lab: Clusterup.LabNameOptions
            @Argument(help: "Node name (node1, ...).") var node: String

            func run() async throws {
                try await ClusterupLab.Lab.cutLink(node, lab: lab.name)
                print("\(node): link cut")
            }
        }

        struct Restore: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Restore a node's link.")
            @OptionGroup var lab: Clusterup.LabNameOptions
            @Argument(help: "Node name (node1, ...).") var node: String

            func run() async throws {
                try await ClusterupLab.Lab.restoreLink(node, lab: lab.name)
                print("\(node): link restored")
            }
        }
    }
}
