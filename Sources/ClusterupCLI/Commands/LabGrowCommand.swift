import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabGrowCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grow",
            abstract: "Add nodes to a running lab; rewrites its inventory and known_hosts.",
            discussion: """
            Prints the inventory's path on its last line, like `lab up`.

            Examples:
              clusterup lab grow --nodes 4
              clusterup lab grow --nodes 5 --release bookworm   (a mixed lab)
            """)

        @OptionGroup var lab: Clusterup.LabNameOptions

        @Option(name: .long, help: "The number of nodes the lab should have (more than now, at most 50).")
        var nodes: Int

        @Option(name: .long, help: "The new nodes' Debian release: bookworm (12) or trixie (13); default: this machine's. The lab's other nodes keep theirs.")
        var release: String?

        func run() async throws {
            let release = try release.map { try DebianRelease.parse($0) }
            let state = try await ClusterupLab.Lab.grow(name: lab.name, nodes: nodes, release: release, progress: labProgress)
            for node in state.nodes {
                print(nodeLine(node))
            }
            print(try ClusterupLab.Lab.inventoryPath(name: lab.name))
        }
    }
}
