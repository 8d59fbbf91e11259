import ClusterupCore
import ClusterupSSH
import Foundation

/// Keeps a held deploy lock fresh while a long operation runs: every `interval` it refreshes the
/// lock on each host. The loop sleeps on a task and does the blocking work on FanOut's dedicated
/// threads, never on the cooperative pool.
final class LockKeeper: Sendable {
    let hosts: [InventoryHost]
    let token: String
    let interval: Duration
    /// Refreshes one host's lock (blocking) and says what the host answered.
    private let refresh: @Sendable (InventoryHost) throws -> DeployLock.Report?
    private let cleanUp: @Sendable () -> Void
    private let lost = Locked<[String]>([])
    private let task = Locked<Task<Void, Never>?>(nil)

    init(hosts: [InventoryHost], token: String, interval: Duration,
         refresh: @escaping @Sendable (InventoryHost) throws -> DeployLock.Report?,
         cleanUp: @escaping @Sendable () -> Void = {}) {
        self.hosts = hosts
        self.token = token
        self.interval = max(interval, .milliseconds(10))
        self.refresh = refresh
        self.cleanUp = cleanUp
    }

    /// Refreshes over a connection of its own per host, so a long command on the operation's
    /// connection (an apt install, a health wait) never delays a refresh.
    static func overSSH(hosts: [InventoryHost], token: String, interval: Duration,
                        connect: @escaping @Sendable (InventoryHost) throws -> SSHConnection) -> LockKeeper {
        let connections = Locked<[String: SSHConnection]>([:])
        let script = DeployLock.refreshScript(token: token)
        return LockKeeper(hosts: hosts, token: token, interval: interval, refresh: { host in
            do {
                let connection = try connections.withLock { $0[host.name] } ?? {
                    let fresh = try connect(host)
                    connections.withLock { $0[host.name] = fresh }
                    return fresh
                }()
                return DeployLock.parse(try connection.checkedOutput(script, timeout: 30))
            } catch {
                // Reconnect next time; a few failed refreshes are what staleness allows for.
                connections.withLock { $0.removeValue(forKey: host.name) }?.close()
                throw error
            }
        }, cleanUp: {
            let open = connections.withLock { all in
                defer { all = [:] }
                return Array(all.values)
            }
            for connection in open { connection.close() }
        })
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
        let results = await FanOut().run(hosts, initialStep: "refreshing the lock") { [refresh] host, _ in try refresh(host) }
        for result in results where result.value == .lost {
            lost.withLock { if !$0.contains(result.host) { $0.append(result.host) } }
        }
    }

    /// Stops refreshing (after a refresh under way finishes) and closes its connections.
    func stop() async {
        let loop = task.withLock { running in
            defer { running = nil }
            return running
        }
        loop?.cancel()
        await loop?.value
        cleanUp()
    }
}
