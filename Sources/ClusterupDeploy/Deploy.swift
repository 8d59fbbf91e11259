import ClusterupCore

/// The deploy: one literal list of phases, run in order. Locks are released and connections
/// closed whatever happens (failure, Ctrl-C).
public enum Deploy {
    static let phases: [any DeployPhase] = [
        ConnectPhase(),
        PreflightPhase(),
        LockPhase(),
        ArtifactsPhase(),
        PKIPhase(),
        PlanPhase(),
        ApplyFilesPhase(),
        EtcdPhase(),
        ControlPlanePhase(),
        LoadBalancerPhase(),
        PostChecksPhase(),
    ]

    public struct Report: Sendable {
        /// Files written and units (re)started, enabled or disabled, per host.
        public var changes: [String: HostChanges]
        public var etcd: EtcdMembershipPlan?
        public var changeCount: Int { changes.values.reduce(0) { $0 + $1.files.count + $1.units.count } }
    }

    public static func run(_ session: DeploySession) async throws -> Report {
        let clock = ContinuousClock()
        do {
            for phase in phases {
                try Task.checkCancellation()
                if session.options.dryRun && phase.changesHosts {
                    session.emit(.phaseSkipped(phase.title, reason: "dry run"))
                    continue
                }
                if let reason = phase.skipReason(session) {
                    session.emit(.phaseSkipped(phase.title, reason: reason))
                    continue
                }
                session.emit(.phaseStarted(phase.title))
                let started = clock.now
                try await phase.run(session)
                session.emit(.phaseFinished(phase.title, elapsed: clock.now - started))
            }
        } catch {
            await LockPhase.release(session)
            session.closeAll()
            throw error
        }
        await LockPhase.release(session)
        session.closeAll()
        return session.with { Report(changes: $0.changes, etcd: $0.etcdPlan) }
    }
}
