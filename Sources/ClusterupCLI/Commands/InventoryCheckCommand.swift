import ArgumentParser
import ClusterupCore
import Foundation

extension Clusterup {
    /// `clusterup inventory check [FILE]`: validates and prints the resolved hosts.
    struct InventoryCheckCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate the inventory and print the resolved hosts.",
            discussion: """
            Loads the inventory as every other command would (defaults applied, per-host SSH overrides merged, relative paths resolved) and prints each host's name, addresses, roles and SSH settings. Nothing is contacted. A problem is reported as file:line:column with the field and the host, and exits with status 2.

            Examples:
              clusterup inventory check                     # ./inventory.yml
              clusterup inventory check lab.yml --roles lb  # only lb hosts
              clusterup inventory check --output json | jq '.hosts[].name'
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let (loaded, hosts) = try inventory.loadSelection()
            if output.isJSON {
                print(InventoryReport.json(loaded, hosts: hosts).pretty)
            } else {
                print(InventoryReport.text(loaded, hosts: hosts), terminator: "")
                print("ok: \(hosts.count) of \(loaded.hosts.count) host\(loaded.hosts.count == 1 ? "" : "s") shown, inventory is valid")
            }
        }
    }
}
