import ClusterupCore
import ClusterupSSH
import Foundation

/// Keeps a held deploy lock fresh while a long operation runs: every `interval` it touches the
/// lock on each host, over a connection of its own so a long command on the operation's
/// connection (an apt install, a health wait) never delays a refresh. The loop sleeps on a task
/// and does the SSH work on FanOut's dedicated threads, never on the cooperative pool.
final class LockKeeper: Sendable {
    let hosts: [ClusterupCore.Host]
    let token: String
    let interval: Duration
    private let connect: @Sendable (ClusterupCore.Host) throws -> SSHConnection
    private let connections = Locked<[String: SSHConnection]>([:])
    private let lost = Locked<[String]>([])
    private let task = Locked<Task<Void, Never>?>(nil)

    init(hosts: [ClusterupCore.Host], token: String, interval: Duration,
         connect: @escaping @Sendable (ClusterupCore.Host) throws -> SSHConnection) {
        self.hosts = hosts
        self.token = token
        self.interval = interval
        self.connect = connect
    }

    /// Hosts where the lock turned out to be someone else's (taken over as stale meanwhile).
    var lostHosts: [String] { lost.withLock { $0 } }

    func start() {
        let loop = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                await refreshOnce()
            }
        }
        task.withLock { $0 = loop }
    }

    func refreshOnce() async {
        let script = DeployLock.refreshScript(token: token)
        let results = await FanOut().run(hosts, initialStep: "refreshing the lock") { [self] host, _ in
            do {
                let connection = try connections.withLock { $0[host.name] } ?? {
                    let fresh = try connect(host)
                    connections.withLock { $0[host.name] = fresh }
                    return fresh
                }()
                return DeployLock.parse(try connection.checkedOutput(script, timeout: 30))
            } catch {
                // Reconnect on the next round; a few failed refreshes are what staleness allows.
                connections.withLock { $0.removeValue(forKey: host.name) }?.close()
                throw error
            }
        }
        for result in results where result.value == .lost {
            lost.withLock { if !$0.contains(result.host) { $0.append(result.host) } }
        }
    }

    /// Stops refreshing (and waits for a refresh under way) and closes its connections.
    func stop() async {
        let loop = task.withLock { running in
            defer { running = nil }
            return running
        }
        loop?.cancel()
        await loop?.value
        let open = connections.withLock { all in
            defer { all = [:] }
            return Array(all.values)
        }
        for connection in open { connection.close() }
    }
}
