import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    /// `clusterup lab`: local nodes to try clusterup on, and the hooks the tests use to break them.
    struct Lab: AsyncParsableCommand {
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
            subcommands: [Up.self, Status.self, Down.self, Node.self, Link.self, Grow.self, Images.self]
        )
    }

    /// `--name` shared by every lab command.
    struct LabNameOptions: ParsableArguments {
        @Option(name: .long, help: "The lab's name: a-z, 0-9 and '-', at most 12 characters.")
        var name: String = ClusterupLab.Lab.defaultName
    }
}

/// Progress lines go to stderr so stdout stays for results (and `lab up`'s last line, the inventory path).
let labProgress: ClusterupLab.Lab.Progress = { line in
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}
