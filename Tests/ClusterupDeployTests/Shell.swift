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
