import Foundation
@testable import ClusterupLab

/// Runs a command on a lab node over SSH with the lab's key and known_hosts (stdout), off the pool.
func labSSH(_ state: LabState, _ node: String, _ command: String) async throws -> String {
    let paths = LabPaths(name: try LabName(state.name))
    let address = state.nodes.first { $0.name == node }!.address
    return try await Blocking.run {
        try HostCommands().run("ssh", [
            "-i", paths.privateKey, "-o", "UserKnownHostsFile=\(paths.knownHosts)", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "GlobalKnownHostsFile=/dev/null", "root@\(address)", command,
        ]).stdout
    }
}
