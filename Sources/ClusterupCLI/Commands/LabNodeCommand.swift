import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabNodeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node",
            abstract: "Stop, start or run a command in one lab node.",
            discussion: """
            Examples:
              clusterup lab node stop node2               # clean poweroff
              clusterup lab node stop node2 --mode kill   # as on power loss
              clusterup lab node start node2
              clusterup lab node exec node1 -- ip -br addr  # no SSH, even with link cut
            """,
            subcommands: [LabNodeStopCommand.self, LabNodeStartCommand.self, LabNodeExecCommand.self])
    }
}
