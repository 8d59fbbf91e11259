import ArgumentParser
import ClusterupCore
import ClusterupVerify
import Foundation

extension Clusterup {
    /// `clusterup verify`: prove the cluster is healthy (default), or that it survives failures.
    struct VerifyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the deployed cluster, or measure a failover of the VIP.",
            discussion: """
            `clusterup verify [INVENTORY]` runs every non-disruptive check (the `checks` subcommand).
            `clusterup verify failover [INVENTORY]` breaks the VRRP master on purpose and measures what clients see.
            """,
            subcommands: [VerifyChecksCommand.self, VerifyFailoverCommand.self],
            defaultSubcommand: VerifyChecksCommand.self)
    }
}
