import ArgumentParser
import ClusterupCore
import ClusterupPKI
import Foundation

extension Clusterup {
    struct CertsRenew: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "renew",
            abstract: "Re-issue certificates from the same CA, keeping subject, SANs and (by default) keys.",
            discussion: """
            Names are those of `certs check-expiration`: a kind renews it on every node (apiserver, \
            etcd-peer, admin.conf...), NAME@NODE one copy, `all` every leaf. CAs are not renewed here. \
            The new files are local; `clusterup deploy` installs them on the nodes.

            Examples:
              clusterup certs renew all
              clusterup certs renew inventory.yml apiserver etcd-server@node2 --rotate-keys
            """
        )

        @Argument(help: "[INVENTORY] then all | NAME...; a first argument ending in .yml/.yaml or naming a file is the inventory.")
        var arguments: [String] = []

        @Flag(help: "Give the renewed certificates new keys.")
        var rotateKeys = false

        @Flag(help: "Print what would be renewed, and write nothing.")
        var dryRun = false

        func split() -> (inventory: String?, names: [String]) {
            guard let first = arguments.first else { return (nil, []) }
            let isInventory = first.hasSuffix(".yml") || first.hasSuffix(".yaml") || FileManager.default.fileExists(atPath: first)
            return isInventory ? (first, Array(arguments.dropFirst())) : (nil, arguments)
        }

        func run() throws {
            let (inventory, names) = split()
            guard !names.isEmpty else {
                throw ClusterupError.badInput("certs renew needs to know what to renew", at: "certs renew",
                                              hint: "name all, a kind such as apiserver, or NAME@NODE (see certs check-expiration)")
            }
            let generator = try loadPKIGenerator(inventory: inventory)
            let report = try generator.run(now: Date(), renew: Set(names), rotateKeys: rotateKeys, dryRun: dryRun)
            printWarnings(report.warnings)
            print(describe(report, directory: generator.directory.root, dryRun: dryRun), terminator: "")
        }
    }
}
