import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    /// `clusterup lab`: local nodes to try clusterup on, and the hooks the tests use to break them.
    struct LabCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lab",
            abstract: "Run real nodes on this machine (systemd-nspawn over overlays of /), for trying and testing clusterup.",
            discussion: """
            A lab is a bridge (cu-NAME) with its own /26 of 198.51.100.0/24 and N nodes: each has systemd as PID 1, its own hostname, machine-id, SSH host key and address, and root's authorized_keys holding the lab's key. `lab up` writes an inventory and a known_hosts file for them. Needs root. State: /var/lib/clusterup/labs/NAME/.

            Examples:
              clusterup lab up --nodes 3
              clusterup lab up --nodes 3 --release trixie --name t13
              clusterup lab grow --nodes 4 --release bookworm --name t13
              clusterup exec /var/lib/clusterup/labs/lab/inventory.yml -- hostname
              clusterup lab status --output json
              clusterup lab node stop node2 --mode kill
              clusterup lab link cut node1
              clusterup lab down
            """,
            subcommands: [LabUpCommand.self, LabStatusCommand.self, LabDownCommand.self, LabNodeCommand.self, LabLinkCommand.self, LabGrowCommand.self, LabImagesCommand.self]
        )
    }
}
