import ArgumentParser
import ClusterupCore
import Foundation

extension Clusterup {
    /// `clusterup inventory ...`: commands about the inventory file itself.
    struct InventoryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inventory",
            abstract: "Validate and show the inventory.",
            discussion: """
            Examples:
              clusterup inventory check
              clusterup inventory check prod.yml --output json
            """,
            subcommands: [InventoryCheckCommand.self])
    }

}
