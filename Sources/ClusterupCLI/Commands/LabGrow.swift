import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup.Lab {
    struct Grow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grow",
            abstract: "Add nodes to a running lab; rewrites its inventory and known_hosts.",
            discussion: """
            Prints the inventory's path on its last line, like `lab up`.

            Examples:
              clusterup lab grow --nodes 4
            """)

        @OptionGroup var lab: Clusterup.LabNameOptions

        @Option(name: .long, help: "The number of nodes the lab should have (more than now, at most 50).")
        var nodes: Int

        func run() async throws {
            let state = try await ClusterupLab.Lab.grow(name: lab.name, nodes: nodes, progress: labProgress)
            for node in state.nodes {
                print("\(node.name)\t\(node.address)\tmachine \(node.machine)")
            }
            print(try ClusterupLab.Lab.inventoryPath(name: lab.name))
        }
    }
}
