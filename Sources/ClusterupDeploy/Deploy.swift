import ClusterupCore
import Foundation

/// The deploy: one literal list of phases, run in order. Locks are released and connections
/// closed whatever happens (failure, Ctrl-C).
public enum Deploy {
    static let phases: [any DeployPhase] = [
        ConnectPhase(),
        PreflightPhase(),
        LockPhase(),
        VersionGuardPhase(),
        ArtifactsPhase(),
        PKIPhase(),
        PlanPhase(),
        ApplyFilesPhase(),
        EtcdPhase(),
        ControlPlanePhase(),
        LoadBalancerPhase(),
        RecordDeployPhase(),
        PostChecksPhase(),
    ]

    public struct Report: Sendable {
        /// Files written and units (re)started, enabled or disabled, per host.
        public var changes: [String: HostChanges]
        public var etcd: EtcdMembershipPlan?
        public var changeCount: Int { changes.values.reduce(0) { $0 + $1.files.count + $1.units.count } }
        /// The phases that ran, in order, with their timings.
        public var timings: [(phase: String, timing: PhaseTiming)]
        /// The whole run, from the first phase to the lock released and connections closed.
        public var total: PhaseTiming
    }

    public static func run(_ session: DeploySession) async throws -> Report {
        let clock = ContinuousClock()
        var timings: [(phase: String, timing: PhaseTiming)] = []
        let runStarted = clock.now, runCPU = processCPUTime()
        do {
            for phase in phases {
                try Task.checkCancellation()
                try LockPhase.checkStillHeld(session)
                if phase.changesHosts, let reason = session.mode.skipReason {
                    session.emit(.phaseSkipped(phase.title, reason: reason))
                    continue
                }
                if let reason = phase.skipReason(session) {
                    session.emit(.phaseSkipped(phase.title, reason: reason))
                    continue
                }
                session.emit(.phaseStarted(phase.title))
                let started = clock.now, cpuBefore = processCPUTime()
                try await phase.run(session)
                let timing = PhaseTiming(elapsed: clock.now - started, cpu: processCPUTime() - cpuBefore)
                timings.append((phase.title, timing))
                session.emit(.phaseFinished(phase.title, timing: timing))
            }
        } catch {
            await LockPhase.release(session)
            session.closeAll()
            throw error
        }
        await LockPhase.release(session)
        session.closeAll()
        let total = PhaseTiming(elapsed: clock.now - runStarted, cpu: processCPUTime() - runCPU)
        return session.with { Report(changes: $0.changes, etcd: $0.etcdPlan, timings: timings, total: total) }
    }

    /// User plus system CPU time of this process, every thread.
    static func processCPUTime() -> Duration {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return .zero }
        func duration(_ t: timeval) -> Duration { .seconds(Int64(t.tv_sec)) + .microseconds(Int64(t.tv_usec)) }
        return duration(usage.ru_utime) + duration(usage.ru_stime)
    }
}
