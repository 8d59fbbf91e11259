import ClusterupCore
import ClusterupSSH

/// The deploy lock around an etcd operation that stops members (`etcd restore`, `etcd recover`):
/// no deploy interleaves with it. Taken on every host first (a host that refuses releases the
/// others and changes nothing), kept fresh while the operation waits on etcd for minutes, and
/// released on every path, also after Ctrl-C.
enum EtcdOperationLock {
    static func holding<Value: Sendable>(
        _ hosts: [ClusterupCore.Host], sessions: HostSessions, operation: String,
        note: @escaping @Sendable (String) -> Void, _ body: () async throws -> Value
    ) async throws -> Value {
        let local = DeployLock.LocalProcessTable.current()
        let owner = DeployLock.Owner.current(local: local)
        let staleAfter = DeployOptions.defaultStaleLockAfter
        let release = DeployLock.releaseScript(token: owner.token)
        let taken = await sessions.run(hosts, step: "locking") { host, connection, _ in
            let outcome = try DeployLock.acquire(
                connection, host: host.name, as: owner, staleAfter: Int(staleAfter.components.seconds), local: local)
            if case .acquired(let tookOver?) = outcome { note("\(host.name): took over a dead deploy's lock: \(tookOver)") }
            if case .held(let by) = outcome {
                throw ClusterupError.remote("a deploy holds the lock: \(by)", host: host.name, hint: "wait for it to finish")
            }
        }
        let locked = zip(hosts, taken).filter { $0.1.succeeded }.map(\.0)
        let keeper = LockKeeper.overSSH(hosts: locked, token: owner.token, interval: DeployLock.refreshInterval(staleAfter: staleAfter),
                                        connect: { [connector = sessions.connector] in try connector.connect($0) })
        keeper.start()
        do {
            try EtcdRestore.requireAll(taken, operation: operation, step: "lock", state: "Nothing was stopped or changed; etcd runs as before.")
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
    static func unlock(_ hosts: [ClusterupCore.Host], script: String, sessions: HostSessions) async {
        guard !hosts.isEmpty else { return }
        // Its own task: after Ctrl-C the operation's task is cancelled, the release must still run.
        await Task {
            _ = await sessions.run(hosts, step: "unlocking") { _, connection, _ in
                _ = try connection.checkedOutput(script)
            }
        }.value
    }
}
