import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabLinkCutCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cut", abstract: "Cut a node's link.")
        @OptionGroup var lab: Clusterup.LabNameOptions
        @Argument(help: "Node name (node1, ...).") var node: String

        func run() async throws {
            try await ClusterupLab.Lab.cutLink(node, lab: lab.name)
            print("\(node): link cut")
        }
    }
}
