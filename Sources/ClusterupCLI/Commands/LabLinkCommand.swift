import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabLinkCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "link",
            abstract: "Cut a node off the lab's bridge, or restore it (the node keeps running).",
            discussion: """
            Sets the host side of the node's veth (vb-MACHINE) down or up.

            Examples:
              clusterup lab link cut node1
              clusterup lab link restore node1
            """,
            subcommands: [LabLinkCutCommand.self, LabLinkRestoreCommand.self])
    }
}
