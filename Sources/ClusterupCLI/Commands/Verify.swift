import ArgumentParser
import ClusterupCore
import ClusterupVerify
import Foundation

extension Clusterup {
    /// `clusterup verify`: prove the cluster is healthy (default), or that it survives failures.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the deployed cluster, or measure a failover of the VIP.",
            discussion: """
            `clusterup verify [INVENTORY]` runs every non-disruptive check (the `checks` subcommand).
            `clusterup verify failover [INVENTORY]` breaks the VRRP master on purpose and measures what clients see.
            """,
            subcommands: [VerifyChecks.self, VerifyFailover.self],
            defaultSubcommand: VerifyChecks.self)
    }
}

/// A duration flag in the inventory's syntax ("100ms", "3s").
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration

    init?(argument: String) {
        guard let duration = Duration(inventoryText: argument) else { return nil }
        self.duration = duration
    }

    init(_ duration: Duration) { self.duration = duration }

    var defaultValueDescription: String { duration.inventoryText }
}

extension FailureMode: ExpressibleByArgument {}
