import CLibSSH2
import ClusterupCore
import Foundation

/// Where the time of opening one connection went, measured on this machine's monotonic clock.
/// For operators diagnosing a slow host: `clusterup exec --timings` / `--output json`.
public struct ConnectionTimings: Sendable, Equatable {
    /// Name resolution and TCP connect (or opening the tunnel through the jump hosts).
    public var connect: Duration = .zero
    /// Banner exchange, key exchange and the server's host key signature: the server forks (and
    /// OpenSSH re-executes) sshd for the connection before it sends its banner.
    public var handshake: Duration = .zero
    /// Looking the host key up in the known_hosts files (local work only).
    public var hostKeyCheck: Duration = .zero
    /// User authentication up to the server's "success" (it checks the key's signature).
    public var authentication: Duration = .zero

    public init() {}

    public var total: Duration { connect + handshake + hostKeyCheck + authentication }
}

/// Where the time of one command went, on the same clock.
public struct CommandTimings: Sendable, Equatable {
    /// Until the server confirms the channel. OpenSSH opens the PAM session (pam_systemd asking
    /// systemd-logind for a login session, motd scripts) after authentication and before it
    /// answers the first channel, so on a fresh connection that work shows up here.
    public var channelOpen: Duration = .zero
    /// Until the server accepts the exec request (it has forked the session's process).
    public var execStart: Duration = .zero
    /// Until the command's output ended (EOF): the login shell and the command itself.
    public var output: Duration = .zero
    /// Until the exit status arrived and the channel was closed.
    public var exit: Duration = .zero

    public init() {}

    public var total: Duration { channelOpen + execStart + output + exit }
}

/// The algorithms a connection negotiated, as the SSH protocol names them.
public struct NegotiatedAlgorithms: Sendable, Equatable {
    public var keyExchange: String
    public var hostKey: String
    /// Client-to-server cipher and MAC (the server-to-client ones are the same unless a side restricts them).
    public var cipher: String
    public var mac: String

    public init(keyExchange: String, hostKey: String, cipher: String, mac: String) {
        self.keyExchange = keyExchange
        self.hostKey = hostKey
        self.cipher = cipher
        self.mac = mac
    }

    static func read(_ session: OpaquePointer) -> NegotiatedAlgorithms {
        func method(_ type: Int32) -> String {
            libssh2_session_methods(session, type).map { String(cString: $0) } ?? "?"
        }
        return NegotiatedAlgorithms(
            keyExchange: method(LIBSSH2_METHOD_KEX), hostKey: method(LIBSSH2_METHOD_HOSTKEY),
            cipher: method(LIBSSH2_METHOD_CRYPT_CS), mac: method(LIBSSH2_METHOD_MAC_CS))
    }
}

/// Successive laps on the monotonic clock.
struct Stopwatch {
    private var last = Deadline.now()

    /// Time since the previous lap (or since creation).
    mutating func lap() -> Duration {
        let now = Deadline.now()
        defer { last = now }
        return .nanoseconds(Int64(now - last))
    }
}

/// One login and one command, phase by phase: what `clusterup exec --timings` prints per host and
/// `--output json` carries as `timings` and `ssh`.
public struct LoginTimings: Sendable, Equatable {
    public var connection: ConnectionTimings
    public var command: CommandTimings
    public var algorithms: NegotiatedAlgorithms?

    public init(connection: ConnectionTimings, command: CommandTimings, algorithms: NegotiatedAlgorithms?) {
        self.connection = connection
        self.command = command
        self.algorithms = algorithms
    }

    /// Phases in the order they happen, with the names used in JSON.
    public var phases: [(name: String, duration: Duration)] {
        [
            ("connect", connection.connect), ("handshake", connection.handshake),
            ("host_key_check", connection.hostKeyCheck), ("authentication", connection.authentication),
            ("channel_open", command.channelOpen), ("exec_start", command.execStart),
            ("output", command.output), ("exit", command.exit),
        ]
    }

    public var total: Duration { connection.total + command.total }

    /// `{"connect_ms": 0.4, ..., "total_ms": 61.2}`, milliseconds rounded to 0.1 ms.
    public var json: JSONValue {
        .object((phases + [("total", total)]).map { ("\($0.name)_ms", .double(Self.rounded($0.duration))) })
    }

    /// `{"kex": ..., "host_key": ..., "cipher": ..., "mac": ...}`, or null before a handshake.
    public var algorithmsJSON: JSONValue {
        guard let algorithms else { return .null }
        return .object([
            ("kex", .string(algorithms.keyExchange)), ("host_key", .string(algorithms.hostKey)),
            ("cipher", .string(algorithms.cipher)), ("mac", .string(algorithms.mac)),
        ])
    }

    /// `node1: connect 0.4 ms, handshake 12.0 ms, ... = 61.2 ms (kex ecdh-sha2-nistp256, host key ssh-ed25519)`
    public func line(host: String) -> String {
        let parts = phases.map { "\($0.name.replacingOccurrences(of: "_", with: " ")) \(Self.text($0.duration))" }
        var line = "\(host): " + parts.joined(separator: ", ") + " = \(Self.text(total))"
        if let algorithms {
            line += " (kex \(algorithms.keyExchange), host key \(algorithms.hostKey))"
        }
        return line
    }

    static func rounded(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return (milliseconds * 10).rounded() / 10
    }

    static func text(_ duration: Duration) -> String {
        String(format: "%.1f ms", rounded(duration))
    }
}
