import Foundation
import TestSupport

/// Runs a script with /bin/sh and returns its stdout; throws when it exits non-zero.
func runShell(_ script: String) throws -> String {
    try ProcessRunner.shell(script).check("sh -c").stdout
}

/// Starts a program with its output discarded (a server a test talks to).
func startProcess(_ path: String, _ arguments: [String]) throws -> SpawnedProcess {
    try SpawnedProcess(path, arguments)
}

/// SIGKILL and wait.
func killAndWait(_ process: SpawnedProcess) {
    process.signal(SIGKILL)
    process.waitUntilExit()
}
