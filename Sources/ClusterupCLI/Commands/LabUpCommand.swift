import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabUpCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract: "Create a lab and boot its nodes; prints the inventory's path on its last line.",
            discussion: """
            Removes leftovers of an earlier lab of the same name first. Returns when every node's sshd answers. Several labs with different names can run at once (at most 4).

            Examples:
              clusterup lab up
              clusterup lab up --nodes 5 --name vrrp
              clusterup lab up --nodes 3 --release trixie --name t13
              INVENTORY=$(clusterup lab up | tail -n 1)
            """)

        @OptionGroup var lab: Clusterup.LabNameOptions

        @Option(name: .long, help: "Number of nodes (1-50).")
        var nodes: Int = ClusterupLab.Lab.defaultNodeCount

        @Option(name: .long, help: "The nodes' Debian release: bookworm (12) or trixie (13); default: this machine's. Another release than this machine's boots from a cached image, built on first use (see `lab images`).")
        var release: String?

        @Option(name: .long, help: "Seconds to wait for the nodes' sshd (default: 60 + 3 per node).")
        var bootTimeout: Double?

        @Option(name: .long, help: ArgumentHelp(
            "Seconds to wait for a free address block when 4 labs already run (default: 0, fail at once).",
            discussion: "For scripts and test runs that start labs side by side: the lab is created as soon as another lab goes down."))
        var waitForAddressBlock: Double = 0

        func validate() throws {
            guard waitForAddressBlock >= 0 else { throw ValidationError("--wait-for-address-block must be 0 or more seconds") }
        }

        func run() async throws {
            let release = try release.map { try DebianRelease.parse($0) }
            let started = Date()
            let state = try await ClusterupLab.Lab.up(name: lab.name, nodes: nodes, release: release, bootTimeout: bootTimeout,
                                                      waitForAddressBlock: waitForAddressBlock, progress: labProgress)
            labProgress(String(format: "lab %@ is up: %d node(s) in %.1f s", state.name, state.nodes.count,
                               Date().timeIntervalSince(started)))
            for node in state.nodes {
                print(nodeLine(node))
            }
            print(try ClusterupLab.Lab.inventoryPath(name: lab.name))
        }
    }
}
