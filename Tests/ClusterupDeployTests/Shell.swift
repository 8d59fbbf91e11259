import Foundation

/// Runs a script with /bin/sh and returns its stdout; throws when it exits non-zero.
func runShell(_ script: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    struct ShellFailed: Error { var status: Int32 }
    guard process.terminationStatus == 0 else { throw ShellFailed(status: process.terminationStatus) }
    return String(decoding: data, as: UTF8.self)
}

/// Starts a program with its output discarded (a server a test talks to).
func startProcess(_ path: String, _ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// SIGKILL and wait: a child of the test runner may inherit SIGTERM blocked (openssl s_server
/// then never exits).
func killAndWait(_ process: Process) {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}
