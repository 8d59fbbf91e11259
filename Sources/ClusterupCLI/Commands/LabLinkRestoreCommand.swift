import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabLinkRestoreCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a node's link.")
        @OptionGroup var lab: Clusterup.LabNameOptions
        @Argument(help: "Node name (node1, ...).") var node: String

        func run() async throws {
            try await ClusterupLab.Lab.restoreLink(node, lab: lab.name)
            print("\(node): link restored")
        }
    }
}
