import Foundation

/// HAProxy's runtime API (the admin-level `stats socket` deploy's haproxy.cfg declares), as
/// command strings and parsed answers. Pure: the rollout's `BackendDrain` sends them over SSH;
/// tests read the strings and feed the parsers HAProxy's own answers.
public enum HAProxyRuntime {
    /// The administrative states `set server … state` takes.
    public enum ServerState: String, Sendable {
        /// In rotation (clears drain and maintenance).
        case ready
        /// No new connections; open ones continue; health checks continue.
        case drain
    }

    /// `set server kube-apiservers/node1 state drain`.
    public static func setState(_ server: String, _ state: ServerState, backend: String = HAProxyNode.apiserverBackend) -> String {
        "set server \(backend)/\(server) state \(state.rawValue)"
    }

    /// The statistics CSV (the same columns as the stats page): `status` and `scur` per server.
    public static let showStat = "show stat"

    /// How HAProxy answered a `set server`: nil when it accepted (an empty answer), else its
    /// words ("No such server.", "Require 'backend/server'.").
    public static func refusal(_ answer: String) -> String? {
        let text = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// One server of the backend as `show stat` reports it.
    public struct ServerStat: Sendable, Equatable {
        /// UP, DOWN, DRAIN (up and draining), MAINT, NOLB, or the first word of a transition ("UP 1/2" → UP).
        public var status: String
        /// Sessions open to this server now.
        public var sessions: Int

        public init(status: String, sessions: Int) {
            self.status = status
            self.sessions = sessions
        }

        /// Accepts new connections: up and neither drained nor in maintenance.
        public var inRotation: Bool { status == "UP" }
    }

    /// Server name → its state, from `show stat`'s CSV; nil when the answer is not the CSV
    /// (a refusal, or HAProxy not running).
    public static func serverStats(_ csv: String, backend: String = HAProxyNode.apiserverBackend) -> [String: ServerStat]? {
        guard let statuses = HAProxyStats.parse(csv, backend: backend),
              let sessions = HAProxyStats.column(csv, backend: backend, named: "scur") else { return nil }
        var result: [String: ServerStat] = [:]
        for (server, status) in statuses {
            result[server] = ServerStat(status: status, sessions: Int(sessions[server] ?? "") ?? 0)
        }
        return result
    }
}
