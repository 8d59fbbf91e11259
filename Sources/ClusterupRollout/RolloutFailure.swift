import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupSSH

/// A command on a host that did not succeed during a rollout: what ran, where, and what it said.
/// Thrown by `RolloutCommand.run` so that the failure report can name the command and its stderr.
public struct RolloutCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var command: String
    public var stderr: String
    /// "exited with status 1", "was killed by SIGKILL", "did not finish within 30 s".
    public var how: String

    public init(host: String, command: String, stderr: String, how: String) {
        self.host = host
        self.command = command
        self.stderr = stderr
        self.how = how
    }

    public var description: String {
        "\(host): '\(RolloutCommand.firstLine(command))' \(how)" + (stderr.isEmpty ? "" : ": \(stderr)")
    }
}

/// Runs rollout commands so that a failure keeps the command and its stderr.
public enum RolloutCommand {
    /// stdout of `command` run as root on `shell`; otherwise a `RolloutCommandError`.
    @discardableResult
    public static func run(_ shell: some RemoteShell, _ command: String, timeout: Double = 60) throws -> String {
        let result: CommandResult
        do {
            result = try shell.run(command, sudo: true, timeout: timeout)
        } catch {
            throw RolloutCommandError(host: shell.hostName, command: command, stderr: "", how: "could not run: \(error)")
        }
        guard result.succeeded else {
            let how = result.signal.map { "was killed by SIG\($0)" } ?? "exited with status \(result.exitStatus)"
            let stderr = result.stderrText.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw RolloutCommandError(host: shell.hostName, command: command, stderr: stderr, how: how)
        }
        return result.stdoutText
    }

    static func firstLine(_ command: String) -> String {
        let line = command.split(separator: "\n").first.map(String.init) ?? command
        return line.count > 120 ? line.prefix(117) + "..." : line
    }
}

/// Why a rollout stopped: the step it was in, the host, the command and its stderr, and the state
/// the cluster is left in. A re-run resumes: every rollout recomputes what is left from the hosts.
public struct RolloutFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var step: String
    public var command: String?
    public var stderr: String?
    public var reason: String
    /// What the cluster looks like now, in words (which backend is still drained, who holds the VIP).
    public var state: String

    public init(host: String, step: String, command: String? = nil, stderr: String? = nil, reason: String, state: String) {
        self.host = host
        self.step = step
        self.command = command
        self.stderr = stderr
        self.reason = reason
        self.state = state
    }

    /// From whatever a step threw, keeping command and stderr when a command failed.
    public init(host: String, step: String, error: any Error, state: String) {
        if let failed = error as? RolloutCommandError {
            self.init(host: host, step: step, command: failed.command, stderr: failed.stderr,
                      reason: "'\(RolloutCommand.firstLine(failed.command))' \(failed.how)", state: state)
        } else if let failure = error as? RolloutFailure {
            self = failure
        } else {
            self.init(host: host, step: step, reason: explain(error), state: state)
        }
    }

    public var description: String {
        var lines = ["step '\(step)' failed on \(host): \(reason)"]
        if let command { lines.append("  command: \(RolloutCommand.firstLine(command))") }
        if let stderr, !stderr.isEmpty { lines.append("  stderr: " + stderr.split(separator: "\n").joined(separator: "\n          ")) }
        lines.append("  cluster state: \(state)")
        lines.append("  a re-run resumes: it recomputes what is left from what the hosts run")
        return lines.joined(separator: "\n")
    }
}
