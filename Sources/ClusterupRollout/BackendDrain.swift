import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import Foundation

/// Takes one apiserver out of every HAProxy's rotation and puts it back, through HAProxy's
/// runtime API on each lb host: `drain` stops new connections while open ones finish (health
/// checks go on), `ready` puts it back. Blocking: run it on a dedicated thread.
public struct BackendDrain: Sendable {
    /// One shell per lb host, by host name.
    public let balancers: [String: any RemoteShell]
    public let socat: String
    public let backend: String
    /// Longest wait for the drained server's sessions to end; long-lived clients (watches) may
    /// hold theirs for an hour, so past this the drain ends with them still open and says how many.
    public var sessionsLimit: Duration
    /// Longest wait for every HAProxy to report the server UP again after `ready`.
    public var upLimit: Duration

    public init(balancers: [String: any RemoteShell], socat: String = "socat", backend: String = HAProxyNode.apiserverBackend,
                sessionsLimit: Duration = .seconds(30), upLimit: Duration = .seconds(60)) {
        self.balancers = balancers
        self.socat = socat
        self.backend = backend
        self.sessionsLimit = sessionsLimit
        self.upLimit = upLimit
    }

    var hosts: [String] { balancers.keys.sorted() }

    /// How a drain ended.
    public struct Drained: Sendable, Equatable {
        public var server: String
        /// Sessions still open on some HAProxy when `sessionsLimit` passed (0: every one ended).
        public var sessionsLeft: Int
    }

    /// Every HAProxy stops sending new connections to `server`; returns once its sessions ended
    /// on the HAProxies in `serving` (nil: on every one), or `sessionsLimit` passed.
    public func drain(_ server: String, serving: [String]? = nil) throws -> Drained {
        try setState(server, .drain)
        let deadline = ContinuousClock.now + sessionsLimit
        var left = 0
        repeat {
            left = Self.sessionsLeft(try stats(server), serving: serving)
            if left == 0 { break }
            Thread.sleep(forTimeInterval: 0.1)
        } while ContinuousClock.now < deadline
        return Drained(server: server, sessionsLeft: left)
    }

    /// The sessions a drain waits for: those of the HAProxies that hold the VIP (`serving`), or of
    /// every one when the holder is not known. An HAProxy without the VIP receives no client
    /// packet: what it still counts are sessions left from before a VIP move. Observed in the lab:
    /// sessions 16-19 s old on a non-holder, the server side closed and the client side in
    /// FIN-WAIT-1 with its FIN never acknowledged (likely: the client sits on the new holder, which
    /// drops replies whose source is its own VIP), held until TCP gives up. Waiting for them cost
    /// every drain its full `sessionsLimit` (30 s). Pure.
    public static func sessionsLeft(_ stats: [String: HAProxyRuntime.ServerStat], serving: [String]?) -> Int {
        let counted = serving.map { holders in stats.filter { holders.contains($0.key) } } ?? stats
        return counted.values.reduce(0) { $0 + $1.sessions }
    }

    /// Every HAProxy takes `server` back, and this returns once each reports it UP (its health
    /// check passes): call it after the apiserver's own /readyz answered.
    public func undrain(_ server: String) throws {
        try setState(server, .ready)
        let deadline = ContinuousClock.now + upLimit
        var seen: [String: HAProxyRuntime.ServerStat] = [:]
        repeat {
            seen = try stats(server)
            if seen.count == balancers.count && seen.values.allSatisfy(\.inRotation) { return }
            Thread.sleep(forTimeInterval: 0.1)
        } while ContinuousClock.now < deadline
        let states = hosts.map { "\($0): \(seen[$0]?.status ?? "unknown")" }.joined(separator: ", ")
        throw ClusterupError.remote("HAProxy does not report \(backend)/\(server) UP within \(Int(upLimit.components.seconds)) s after undrain (\(states))",
                                    hint: "check the apiserver's /readyz on \(server) and `clusterup status`; a re-run undrains it again")
    }

    /// Sends `set server … state` to every HAProxy, in parallel; a refusal is an error naming the host.
    public func setState(_ server: String, _ state: HAProxyRuntime.ServerState) throws {
        let command = HAProxyRuntime.setState(server, state, backend: backend)
        let script = HAProxyRuntime.script([command], socat: socat)
        try onEveryBalancer { host, shell in
            let answer = HAProxyRuntime.answers(try RolloutCommand.run(shell, script, timeout: 15), count: 1)[0]
            if let refusal = HAProxyRuntime.refusal(answer) {
                throw RolloutCommandError(host: host, command: command, stderr: refusal, how: "was refused by HAProxy's runtime API")
            }
        }
    }

    /// The server's state on each HAProxy (host → stat).
    public func stats(_ server: String) throws -> [String: HAProxyRuntime.ServerStat] {
        let script = HAProxyRuntime.script([HAProxyRuntime.showStat], socat: socat)
        let found = Locked<[String: HAProxyRuntime.ServerStat]>([:])
        try onEveryBalancer { [backend] host, shell in
            let answer = HAProxyRuntime.answers(try RolloutCommand.run(shell, script, timeout: 15), count: 1)[0]
            guard let stats = HAProxyRuntime.serverStats(answer, backend: backend) else {
                throw RolloutCommandError(host: host, command: HAProxyRuntime.showStat, stderr: String(answer.prefix(200)),
                                          how: "did not answer with statistics")
            }
            guard let stat = stats[server] else {
                throw RolloutCommandError(host: host, command: HAProxyRuntime.showStat, stderr: "",
                                          how: "lists no server \(server) in \(backend) (servers: \(stats.keys.sorted().joined(separator: ", ")))")
            }
            found.withLock { $0[host] = stat }
        }
        return found.withLock { $0 }
    }

    /// Runs `body` on every lb host in parallel; the first error (by host name) is rethrown.
    func onEveryBalancer(_ body: @escaping @Sendable (String, any RemoteShell) throws -> Void) throws {
        let hosts = self.hosts
        let results = FanOut(concurrency: max(1, hosts.count)).runBlocking(hosts, name: { $0 }) { [balancers] host, _ in
            try body(host, balancers[host]!)
        }
        if let failed = results.first(where: { $0.error != nil }), let error = failed.error { throw error }
    }
}
