import ClusterupCore
import ClusterupSSH

/// The little deploy needs from a connection: run a command, upload, download. SSHConnection
/// provides it; so could a local shell in a test.
public protocol RemoteShell: Sendable {
    var hostName: String { get }
    func run(_ command: String, sudo: Bool, timeout: Double?) throws -> CommandResult
    func put(_ bytes: [UInt8], to path: String, mode: UInt32, owner: String?, group: String?) throws -> Bool
    func get(_ path: String) throws -> [UInt8]
    /// Writes files already known to differ, each atomically, in as few round trips as it can.
    func putAll(_ files: [SSHConnection.UploadFile]) throws
}

extension RemoteShell {
    /// stdout of a command that must succeed; a failure names the command and carries stderr.
    func checkedOutput(_ command: String, sudo: Bool = true, timeout: Double? = nil) throws -> String {
        let result = try run(command, sudo: sudo, timeout: timeout)
        guard result.succeeded else {
            let how = result.signal.map { "was killed by SIG\($0)" } ?? "exited with status \(result.exitStatus)"
            let firstLine = command.split(separator: "\n").first.map(String.init) ?? command
            let shown = firstLine.count > 100 ? firstLine.prefix(97) + "..." : firstLine
            let stderr = result.stderrText.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw ClusterupError.remote("command '\(shown)' \(how)\(stderr.isEmpty ? "" : ": \(stderr)")", host: hostName)
        }
        return result.stdoutText
    }
}

extension SSHConnection: RemoteShell {
    public var hostName: String { target.name }

    public func run(_ command: String, sudo: Bool, timeout: Double?) throws -> CommandResult {
        try run(command, sudo: sudo, timeout: timeout, environment: [:], stdin: [], onOutput: nil)
    }

    public func put(_ bytes: [UInt8], to path: String, mode: UInt32, owner: String?, group: String?) throws -> Bool {
        try upload(bytes, to: path, mode: mode, owner: owner, group: group, sudo: true)
    }

    public func putAll(_ files: [UploadFile]) throws {
        try uploadAll(files, sudo: true)
    }

    /// Small text files (what a dry run diffs): `cat` over the connection already open.
    public func get(_ path: String) throws -> [UInt8] {
        let result = try run("cat \(shellQuote(path))", sudo: true, timeout: 60)
        guard result.succeeded else {
            throw ClusterupError.remote("cannot read \(path): \(result.stderrText)", host: hostName)
        }
        return result.stdout
    }
}
