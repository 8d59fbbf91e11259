import ClusterupCore
import Foundation

/// Takes the deploy lock on every host so two deploys never interleave; a second deploy is
/// refused naming who holds the lock and since when. The lock is refreshed while the deploy runs
/// (`LockKeeper`); a dead holder's lock is taken over with a warning (`DeployLock.decide`).
struct LockPhase: DeployPhase {
    let title = "lock"
    /// A failure releases the locks taken: nothing else was changed.
    let afterFailure = AfterFailure.nodesUnchanged
    let changesHosts = true

    func run(_ session: DeploySession) async throws {
        let local = DeployLock.LocalProcessTable.current()
        let owner = DeployLock.Owner.current(local: local)
        let staleAfter = Int(session.options.staleLockAfter.components.seconds)
        let results = await FanOut(concurrency: session.options.concurrency).run(
            session.reachableHosts, initialStep: "locking", progress: { [emit = session.emit] in emit(.host($0)) }
        ) { host, _ in
            try DeployLock.acquire(try session.connection(host.name), host: host.name, as: owner, staleAfter: staleAfter, local: local)
        }
        let acquisition = DeployLock.Acquisition(results.map { ($0.host, $0.outcome) })
        for takeOver in acquisition.tookOver { session.note(takeOver.host, "took over a dead deploy's lock: \(takeOver.text)") }
        let failures = acquisition.refusals.map { (host: $0.host, error: $0.text) }
        let locked = acquisition.locked
        let keeper = LockKeeper.overSSH(
            hosts: session.reachableHosts.filter { locked.contains($0.name) }, token: owner.token,
            interval: DeployLock.refreshInterval(staleAfter: session.options.staleLockAfter),
            connect: { [connector = session.connector] in try connector.connect($0) })
        session.with { $0.lock = keeper }
        if !failures.isEmpty {
            await LockPhase.release(session)
            throw DeployFailure(
                phase: title, failures: failures,
                state: "No node was changed. Wait for the other deploy to finish. A lock whose clusterup process on this machine is gone is taken over at once; one taken from another machine once it has not been refreshed for \(staleAfter)s; or remove \(DeployLock.directory) on the host.")
        }
        keeper.start()
    }

    /// Stops, before the next phase, a deploy whose lock another deploy took over (it judged it stale).
    static func checkStillHeld(_ session: DeploySession) throws {
        guard let lost = session.with({ $0.lock })?.lostHosts, !lost.isEmpty else { return }
        throw DeployFailure(
            phase: "lock", failures: lost.map { ($0, "another deploy took over this deploy's lock (it was not refreshed in time)") },
            state: "This deploy stopped before its next phase. Hosts may be part-way through; let the other deploy finish, then re-run deploy.")
    }

    /// Stops refreshing and releases the locks this session holds, only where the lock is still
    /// ours; also runs after a failure or Ctrl-C.
    static func release(_ session: DeploySession) async {
        guard let keeper = session.with({ state in
            defer { state.lock = nil }
            return state.lock
        }) else { return }
        await keeper.stop()
        guard !keeper.hosts.isEmpty else { return }
        let script = DeployLock.releaseScript(token: keeper.token)
        _ = await FanOut(concurrency: session.options.concurrency).run(keeper.hosts, initialStep: "unlocking") { host, _ in
            _ = try session.connection(host.name).checkedOutput(script)
        }
    }
}
