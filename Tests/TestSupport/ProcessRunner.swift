import CTestSupport
import Foundation

/// How a program the tests ran ended: its exit status (128 + the signal when a signal ended it)
/// and what it wrote.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdoutBytes: [UInt8]
    public var stderrBytes: [UInt8]

    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
    /// stdout, then stderr (both streams in one file when run with `mergingStderr`).
    public var output: String { stdout + stderr }
    public var succeeded: Bool { status == 0 }

    public init(status: Int32, stdoutBytes: [UInt8], stderrBytes: [UInt8] = []) {
        self.status = status
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
    }

    /// Self when the program exited 0; otherwise an error naming it, its status and its stderr.
    @discardableResult
    public func check(_ what: String) throws -> ProcessResult {
        guard succeeded else { throw ProcessFailed(description: "\(what) exited \(status): \(output)") }
        return self
    }
}

public struct ProcessFailed: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// The one way the tests run a local program and read what it wrote.
public enum ProcessRunner {
    /// Runs a program to completion. stdin is /dev/null (or `input`), stdout and stderr go to files, so no pipe can fill up and
    /// stall either side. `environment` nil inherits the tests' environment; given, it is the whole
    /// environment. Throws only when the program cannot be started.
    public static func run(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
                           currentDirectory: String? = nil, input: String? = nil, mergingStderr: Bool = false) throws -> ProcessResult {
        let base = FileManager.default.temporaryDirectory.path + "/cu-run-\(UUID().uuidString)"
        let out = base + ".out", err = mergingStderr ? out : base + ".err", stdin = input == nil ? "/dev/null" : base + ".in"
        defer { for file in [out, err, base + ".in"] { try? FileManager.default.removeItem(atPath: file) } }
        if let input { try input.write(toFile: stdin, atomically: false, encoding: .utf8) }
        let child = try SpawnedProcess(executable, arguments, environment: environment, currentDirectory: currentDirectory,
                                       stdin: stdin, stdout: out, stderr: mergingStderr ? nil : err)
        let status = child.waitUntilExit()
        let bytes = { (path: String) in [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
        return ProcessResult(status: status, stdoutBytes: bytes(out), stderrBytes: mergingStderr ? [] : bytes(err))
    }

    /// `script` under /bin/sh -c, to completion (see `run`).
    public static func shell(_ script: String, environment: [String: String]? = nil, currentDirectory: String? = nil,
                             mergingStderr: Bool = false) throws -> ProcessResult {
        try run("/bin/sh", ["-c", script], environment: environment, currentDirectory: currentDirectory, mergingStderr: mergingStderr)
    }
}

/// A program started with posix_spawn and waited for by its own pid. Foundation's Process is
/// avoided: with several children alive at once, its child reaping on Linux can block in wait4
/// on a long-lived one (an sshd) and never notice a short tool exiting.
public final class SpawnedProcess: @unchecked Sendable {
    public let processIdentifier: pid_t
    private let lock = NSLock()
    private var status: Int32?
    private var signalled: Int32?

    /// stdout and stderr go to these files (nil stderr: into stdout's file), created or truncated.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
                stdin: String = "/dev/null", stdout: String = "/dev/null", stderr: String? = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let stderr {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        if let currentDirectory { cts_spawn_addchdir(&actions, currentDirectory) }
        // Nothing else this process has open reaches the child: a write descriptor of a file
        // another test is writing, inherited, makes exec of that file fail with ETXTBSY.
        cts_spawn_addclosefrom(&actions, 3)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // Children must not inherit this thread's blocked signals (dispatch workers block them) or
        // an ignored SIGPIPE, or they would never die of the SIGTERM a test sends them.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw ProcessFailed(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        processIdentifier = pid
    }

    /// Whether it still runs (reaps it when it has ended).
    public var isRunning: Bool { reap(WNOHANG) == nil }

    /// Waits for it to end; its exit status, 128 + the signal when a signal ended it.
    @discardableResult
    public func waitUntilExit() -> Int32 { reap(0)! }

    /// The exit status once it ended (see `waitUntilExit`).
    public var terminationStatus: Int32 { waitUntilExit() }

    /// The signal that ended it, nil when it exited (waits for it to end).
    public var terminatingSignal: Int32? {
        waitUntilExit()
        return lock.withLock { signalled }
    }

    /// SIGTERM, as Foundation's Process.terminate().
    public func terminate() { signal(SIGTERM) }

    /// Sends `signal` unless it has already been reaped.
    public func signal(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// waitpid on its own pid, outside the lock (a blocking wait must not stop `isRunning` on
    /// another thread); a second waiter that finds it reaped reads the status recorded.
    private func reap(_ options: Int32) -> Int32? {
        while true {
            if let status = lock.withLock({ status }) { return status }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(processIdentifier, &raw, options) } while result < 0 && errno == EINTR
            if result == processIdentifier {
                let signal = raw & 0x7f == 0 ? nil : raw & 0x7f
                let decoded = signal.map { 128 + $0 } ?? (raw >> 8) & 0xff
                lock.withLock { (status, signalled) = (decoded, signal) }
                return decoded
            }
            if result == 0 { return nil }  // WNOHANG: still running
            usleep(1_000)  // ECHILD: another waiter reaped it and is recording its status
        }
    }
}
