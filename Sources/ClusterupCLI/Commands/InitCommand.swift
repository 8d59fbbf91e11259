import ArgumentParser
import ClusterupCore
import Foundation

extension Clusterup {
    /// `clusterup init [FILE]`: writes the commented starter inventory.
    struct InitCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Write a commented starter inventory.",
            discussion: """
            The starter has three example hosts covering every role (etcd, control-plane, lb) on 198.51.100.0/24, and the ssh, vip, vrrp and pki sections with every key documented. Edit the addresses and the VRRP interface, then validate it. An existing file is never overwritten.

            Examples:
              clusterup init                          # writes ./inventory.yml
              clusterup init prod.yml --cluster prod  # another file and cluster name
              clusterup inventory check prod.yml      # then validate it
            """)

        @Argument(help: "Where to write the inventory.", completion: .file(extensions: ["yml", "yaml"]))
        var file: String = InventoryLoader.defaultFileName

        @Option(help: "Cluster name: lower-case letters, digits and inner hyphens, at most 40 characters.")
        var cluster: String = "demo"

        func run() throws {
            guard Inventory.isValidClusterName(cluster) else {
                throw ClusterupError.badInput(
                    "invalid cluster name '\(cluster)'", at: "--cluster",
                    hint: "use lower-case letters, digits and inner hyphens, at most 40 characters (e.g. prod-eu1)")
            }
            try StarterInventory.create(at: file, cluster: cluster)
            print("""
                wrote \(file)
                next: set the hosts' addresses and vrrp.interface, then run `clusterup inventory check\(file == InventoryLoader.defaultFileName ? "" : " \(file)")`
                """)
        }
    }
}
