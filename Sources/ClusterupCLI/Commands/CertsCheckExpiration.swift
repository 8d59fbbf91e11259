import ArgumentParser
import ClusterupCore
import ClusterupPKI
import Foundation

extension Clusterup {
    struct CertsCheckExpiration: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-expiration",
            abstract: "List every certificate with its expiry, signing CA and whether it is missing or invalid.",
            discussion: "Exits 0 when everything is ok, 1 when something is missing, expired, invalid or outdated."
        )

        @Argument(help: "Inventory file (default: $CLUSTERUP_INVENTORY, then ./inventory.yml).")
        var inventory: String?

        @Flag(help: "Check what the nodes have installed, over SSH (not available yet: comes with deploy).")
        var remote = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            if remote {
                throw ClusterupError.badInput(
                    "--remote is not implemented yet; it arrives with `clusterup deploy`, which installs the certificates",
                    at: "--remote", hint: "run without --remote to check the local PKI directory")
            }
            let generator = try loadPKIGenerator(inventory: inventory)
            let report = try generator.checkExpiration(now: Date())
            print(output.isJSON ? report.json() : report.table(), terminator: output.isJSON ? "\n" : "")
            if report.hasProblems { throw ExitCode(1) }
        }
    }
}
