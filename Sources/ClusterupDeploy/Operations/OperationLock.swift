import ClusterupCore
import ClusterupSSH

/// The deploy lock around an operation that is not a deploy but must not interleave with one:
/// `etcd restore`, `etcd recover`, `certs renew --deploy`, `certs rotate-ca`. The same lock
/// directory deploy and `upgrade apply` take (`LockPhase`), so each refuses while another holds it.
/// Taken on every host first (if any host refuses, the others are released and nothing changed),
/// kept fresh while the operation runs for minutes, and released on every path, also after Ctrl-C.
public enum OperationLock {
    /// `refusedState`: what the refusal tells the operator about the state left (nothing changed).
    public static func holding<Value: Sendable>(
        _ hosts: [InventoryHost], sessions: HostSessions, operation: String, refusedState: String,
        note: @escaping @Sendable (String) -> Void, _ body: () async throws -> Value
    ) async throws -> Value {
        let local = DeployLock.LocalProcessTable.current()
        let owner = DeployLock.Owner.current(local: local, operation: operation)
        let staleAfter = DeployOptions.defaultStaleLockAfter
        let release = DeployLock.releaseScript(token: owner.token)
        let taken = await sessions.run(hosts, step: "locking") { host, connection, _ in
            try DeployLock.acquire(connection, host: host.name, as: owner, staleAfter: Int(staleAfter.components.seconds), local: local)
        }
        let acquisition = DeployLock.Acquisition(taken.map { ($0.host, $0.outcome) })
        for takeOver in acquisition.tookOver { note("\(takeOver.host): took over a dead deploy's lock: \(takeOver.text)") }
        let locked = hosts.filter { acquisition.locked.contains($0.name) }
        guard acquisition.refusals.isEmpty else {
            await unlock(locked, script: release, sessions: sessions)
            throw DeployFailure(phase: "lock", failures: acquisition.refusals.map { ($0.host, $0.text) }, state: refusedState, operation: operation)
        }
        let keeper = LockKeeper.overSSH(hosts: locked, token: owner.token, interval: DeployLock.refreshInterval(staleAfter: staleAfter),
                                        connect: { [connector = sessions.connector] in try connector.connect($0) })
        keeper.start()
        do {
            let value = try await body()
            await keeper.stop()
            await unlock(locked, script: release, sessions: sessions)
            return value
        } catch {
            await keeper.stop()
            await unlock(locked, script: release, sessions: sessions)
            throw error
        }
    }

    /// Released on every path; a lock that cannot be released is reported by the next deploy.
    static func unlock(_ hosts: [InventoryHost], script: String, sessions: HostSessions) async {
        guard !hosts.isEmpty else { return }
        // Its own task: after Ctrl-C the operation's task is cancelled, the release must still run.
        await Task {
            _ = await sessions.run(hosts, step: "unlocking") { _, connection, _ in
                _ = try connection.checkedOutput(script)
            }
        }.value
    }
}
