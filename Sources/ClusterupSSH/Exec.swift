import CLibSSH2
import ClusterupCore
import Foundation

/// What a remote command did.
public struct CommandResult: Sendable, Equatable {
    /// Exit status; meaningless when `signal` is set.
    public var exitStatus: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Signal name without "SIG" (e.g. "KILL") when the command was killed by one.
    public var signal: String?
    /// Where the command's time went, from opening its channel to its exit status.
    public var timings: CommandTimings

    public init(exitStatus: Int32, stdout: [UInt8], stderr: [UInt8], signal: String?, timings: CommandTimings = CommandTimings()) {
        self.exitStatus = exitStatus
        self.stdout = stdout
        self.stderr = stderr
        self.signal = signal
        self.timings = timings
    }

    public var succeeded: Bool { exitStatus == 0 && signal == nil }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// One chunk of output as it arrives, for live display.
public enum OutputChunk: Sendable {
    case stdout([UInt8])
    case stderr([UInt8])
}

extension SSHConnection {
    /// Runs `command` with `sh` semantics on the host (sshd runs it through the login shell).
    ///
    /// - sudo: run as root; `sudo -n` or `sudo -S` (password from the configured variable) for
    ///   non-root users, nothing for root. Refused if the host has no sudo configured.
    /// - timeout: seconds (default `target.commandTimeout`); on expiry the channel is closed and a
    ///   timeout error naming the command is thrown (the remote process may outlive it).
    /// - environment: exported in front of the command, since sshd usually refuses `setenv`.
    /// - onOutput: called on this thread for every chunk, in arrival order.
    public func run(
        _ command: String, sudo: Bool = false, timeout: Double? = nil, environment: [String: String] = [:],
        stdin: [UInt8] = [], onOutput: ((OutputChunk) -> Void)? = nil
    ) throws -> CommandResult {
        let script = try Shell.exportPrefix(environment) + command
        var wrapped = script
        var handshake: SudoHandshake? = nil
        if sudo {
            if target.effectiveSudo == .none && target.user != "root" {
                throw ClusterupError.badInput(
                    "this needs root, but the host logs in as '\(target.user)' and has no sudo configured", at: target.name,
                    hint: "set ssh.sudo: true (passwordless) or ssh.sudo: {password_env: VAR} in the inventory, or log in as root")
            }
            var password: String? = nil
            if case .password(let env) = target.effectiveSudo {
                guard let value = ProcessInfo.processInfo.environment[env] else {
                    throw ClusterupError.badInput("sudo needs a password but $\(env) is not set", at: target.name,
                                                  hint: "export \(env) before running")
                }
                password = value
            }
            (wrapped, handshake) = Shell.sudo(script, mode: target.effectiveSudo, password: password)
        }
        let seconds = timeout ?? target.commandTimeout
        return try locked {
            try execute(wrapped, displayed: command, stdin: stdin, handshake: handshake, seconds: seconds, onOutput: onOutput)
        }
    }

    /// Like `run`, but a non-zero exit becomes an error carrying stderr.
    @discardableResult
    public func check(_ command: String, sudo: Bool = false, timeout: Double? = nil,
                      environment: [String: String] = [:], stdin: [UInt8] = []) throws -> CommandResult {
        let result = try run(command, sudo: sudo, timeout: timeout, environment: environment, stdin: stdin)
        guard result.succeeded else { throw commandFailed(command, result) }
        return result
    }

    func commandFailed(_ command: String, _ result: CommandResult) -> ClusterupError {
        let how = result.signal.map { "was killed by SIG\($0)" } ?? "exited with status \(result.exitStatus)"
        let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        return ClusterupError.remote("command \(Self.abbreviate(command)) \(how)" + (stderr.isEmpty ? "" : ": \(stderr)"),
                                     host: target.name)
    }

    static func abbreviate(_ command: String) -> String {
        let oneLine = command.replacingOccurrences(of: "\n", with: " ")
        return "'" + (oneLine.count > 120 ? oneLine.prefix(117) + "..." : oneLine) + "'"
    }

    /// The exec loop: the session is non-blocking, so stdout, stderr and stdin progress together
    /// (a full stderr window can never stall a stdout read) and the deadline is checked on every wait.
    private func execute(_ command: String, displayed: String, stdin: [UInt8], handshake: SudoHandshake?, seconds: Double,
                         onOutput: ((OutputChunk) -> Void)?) throws -> CommandResult {
        let deadline = Deadline(seconds: seconds)
        var stopwatch = Stopwatch()
        var timings = CommandTimings()
        let channel = try openChannel(deadline, what: displayed, seconds: seconds)
        timings.channelOpen = stopwatch.lap()
        var channelFreed = false
        defer { if !channelFreed { abandon(channel) } }

        let started = try retryOrTimeout(deadline, displayed, seconds) {
            libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count))
        }
        guard started == 0 else {
            throw libssh2Failure("the server refused to run a command")
        }
        timings.execStart = stopwatch.lap()

        var stdout: [UInt8] = [], stderr: [UInt8] = []
        // Behind a sudo handshake, stdin waits until sudo has let the command run.
        var handshake = handshake
        var pending = handshake == nil ? stdin[...] : []
        var eofSent = false
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        while true {
            var progressed = false
            for stream in [Int32(0), SSH_EXTENDED_DATA_STDERR] {
                while true {
                    let n = buffer.withUnsafeMutableBufferPointer { raw in
                        raw.withMemoryRebound(to: CChar.self) { libssh2_channel_read_ex(channel, stream, $0.baseAddress, $0.count) }
                    }
                    guard n > 0 else {
                        if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) {
                            throw libssh2Failure("reading output of \(Self.abbreviate(displayed)) failed")
                        }
                        break
                    }
                    progressed = true
                    var chunk = Array(buffer[0..<n])
                    if stream == 0 { stdout += chunk; onOutput?(.stdout(chunk)); continue }
                    if var exchange = handshake, exchange.state != .released {
                        let step = exchange.feed(stderr: chunk)
                        handshake = exchange
                        pending = step.write[...] + pending
                        if step.releaseInput { pending += stdin[...] }
                        if step.closeInput { pending = [] }
                        chunk = step.stderr
                    }
                    if !chunk.isEmpty { stderr += chunk; onOutput?(.stderr(chunk)) }
                }
            }
            if !pending.isEmpty {
                let n = pending.withUnsafeBufferPointer { raw in
                    raw.withMemoryRebound(to: CChar.self) { libssh2_channel_write_ex(channel, 0, $0.baseAddress, $0.count) }
                }
                if n > 0 {
                    pending = pending.dropFirst(n)
                    progressed = true
                } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) {
                    // The command stopped reading (exited or closed stdin); its exit status tells the rest.
                    pending = []
                }
            }
            let inputOpen = handshake.map { $0.state == .released || $0.state == .refused } ?? true
            if pending.isEmpty && !eofSent && inputOpen {
                let rc = libssh2_channel_send_eof(channel)
                if rc != LIBSSH2_ERROR_EAGAIN { eofSent = true; progressed = true }
            }
            if libssh2_channel_eof(channel) != 0 {
                // Output queued before EOF was read above; one more pass catches a final race.
                if !progressed { break }
                continue
            }
            if !progressed {
                do { try core.waitSocket(deadline, cap: 100) } catch is DeadlineExceeded {
                    throw timedOut(displayed, seconds)
                }
            }
        }

        if var exchange = handshake { stderr += exchange.finish() }
        timings.output = stopwatch.lap()
        _ = try retryOrTimeout(deadline, displayed, seconds) { libssh2_channel_close(channel) }
        _ = try retryOrTimeout(deadline, displayed, seconds) { libssh2_channel_wait_closed(channel) }
        timings.exit = stopwatch.lap()
        let status = libssh2_channel_get_exit_status(channel)
        var signalName: UnsafeMutablePointer<CChar>? = nil
        var signalLength = 0
        libssh2_channel_get_exit_signal(channel, &signalName, &signalLength, nil, nil, nil, nil)
        var signal: String? = nil
        if let signalName {
            signal = String(cString: signalName)
            libssh2_free(core.raw, signalName)
        }
        _ = try? core.retry(Deadline(seconds: 1)) { libssh2_channel_free(channel) }
        channelFreed = true
        return CommandResult(exitStatus: status, stdout: stdout, stderr: stderr, signal: signal, timings: timings)
    }

    func openChannel(_ deadline: Deadline, what: String, seconds: Double) throws -> OpaquePointer {
        let session = core.raw
        let channel: OpaquePointer?
        do {
            channel = try core.retryPointer(deadline) {
                libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0)
            }
        } catch is DeadlineExceeded {
            throw timedOut(what, seconds)
        }
        guard let channel else {
            throw libssh2Failure("cannot open an SSH channel", hint: "the connection may have dropped, or sshd's MaxSessions is reached")
        }
        return channel
    }

    private func retryOrTimeout(_ deadline: Deadline, _ what: String, _ seconds: Double, _ call: () -> Int32) throws -> Int32 {
        do { return try core.retry(deadline, call) } catch is DeadlineExceeded { throw timedOut(what, seconds) }
    }

    func timedOut(_ command: String, _ seconds: Double) -> ClusterupError {
        ClusterupError.remote(
            "command \(Self.abbreviate(command)) timed out after \(String(format: "%g", seconds))s; its channel was closed "
                + "(the remote process may still be running)",
            host: target.name, hint: "raise ssh.command_timeout, or check why the command hangs on the host")
    }

    /// Gives up on a channel after a timeout or error: close without waiting long, then free.
    func abandon(_ channel: OpaquePointer) {
        let deadline = Deadline(seconds: 1)
        _ = try? core.retry(deadline) { libssh2_channel_close(channel) }
        _ = try? core.retry(deadline) { libssh2_channel_free(channel) }
    }
}
