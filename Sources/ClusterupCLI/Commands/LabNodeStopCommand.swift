import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension ClusterupLab.Lab.StopMode: ExpressibleByArgument {}

extension Clusterup {
    struct LabNodeStopCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
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
}
