import ClusterupDeploy
import Foundation
import TestSupport

/// A deploy lock's owner that is a running process of this machine: a `sleep` standing in for a
/// clusterup still at work, so the lock is kept however old it looks. `stop()` ends it: the
/// holder is then gone and its lock may be taken over at once.
final class LiveLockHolder {
    let process: SpawnedProcess
    let owner: DeployLock.Owner

    init(token: String = "planted") throws {
        process = try SpawnedProcess("/bin/sleep", ["600"])
        let local = DeployLock.LocalProcessTable.current()
        guard let start = local.startTime(process.processIdentifier) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no start time for the holder's pid"])
        }
        owner = DeployLock.Owner(
            user: "ops", host: ProcessInfo.processInfo.hostName, machineID: local.machineID ?? "", bootID: local.bootID ?? "",
            pid: process.processIdentifier, processStart: start, token: token, since: "2026-12-05T08:00:00Z")
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
