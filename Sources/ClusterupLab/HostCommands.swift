import ClusterupCore
import Foundation

/// Runs host tools (ip, mount, ssh-keygen, systemd-nspawn) with Foundation's Process.
///
/// Every call blocks its thread until the tool exits; callers run on dedicated threads (see
/// `Blocking`), never on the cooperative pool.
public struct HostCommands: Sendable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    static let searchPath = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    /// Where a tool is, and the Debian package that provides it (for the error).
    static let packages = [
        "ip": "iproute2", "mount": "mount", "umount": "mount", "ssh-keygen": "openssh-client",
        "systemd-nspawn": "systemd-container", "sshd": "openssh-server", "nsenter": "util-linux",
    ]

    public init() {}

    public static func locate(_ tool: String) throws -> String {
        if tool.hasPrefix("/") {
            guard FileManager.default.isExecutableFile(atPath: tool) else {
                throw ClusterupError.local("\(tool) does not exist or is not executable", at: "this machine")
            }
            return tool
        }
        for directory in searchPath {
            let candidate = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ClusterupError.local(
            "\(tool) is not installed", at: "this machine",
            hint: "install it: apt-get install \(packages[tool] ?? tool)")
    }

    /// Runs a tool to completion and returns its status and output.
    @discardableResult
    public func run(_ tool: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.locate(tool))
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Read both pipes at once: a tool that fills one while we wait on the other would block.
        let errorData = Locked(Data())
        let done = DispatchSemaphore(value: 0)
        let errorHandle = stderr.fileHandleForReading
        Thread {
            let read = errorHandle.readDataToEndOfFile()
            errorData.withLock { $0 = read }
            done.signal()
        }.start()
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outputData, as: UTF8.self),
                      stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    /// Runs a tool and fails with its stderr when it exits non-zero.
    @discardableResult
    public func check(_ tool: String, _ arguments: [String], what: String) throws -> String {
        let result = try run(tool, arguments)
        guard result.status == 0 else {
            let detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ClusterupError.local(
                "\(what) failed: `\(tool) \(arguments.joined(separator: " "))` exited \(result.status): \(detail)")
        }
        return result.stdout
    }

    /// Starts a long-running tool with stdin from /dev/null and stdout+stderr appended to `logFile`.
    /// Returns at once; the child outlives this process (Process puts it in its own process group,
    /// so a Ctrl-C at the terminal that started `lab up` does not reach it later).
    public func spawn(_ tool: String, _ arguments: [String], environment: [String: String] = [:],
                      logFile: String) throws -> Int32 {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.executableURL = URL(fileURLWithPath: try Self.locate(tool))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        process.standardInput = FileHandle.nullDevice
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let log = FileHandle(forWritingAtPath: logFile) else {
            throw ClusterupError.local("cannot open log file \(logFile)")
        }
        defer { try? log.close() }
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process.processIdentifier
    }
}
