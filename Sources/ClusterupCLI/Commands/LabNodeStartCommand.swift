import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabNodeStartCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Boot a stopped node and wait until its sshd answers.")

        @OptionGroup var lab: Clusterup.LabNameOptions
        @Argument(help: "Node name (node1, ...).") var node: String

        func run() async throws {
            try await ClusterupLab.Lab.startNode(node, lab: lab.name)
            print("\(node) started")
        }
    }
}
