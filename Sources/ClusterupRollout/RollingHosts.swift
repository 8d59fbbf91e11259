import ClusterupCore
import ClusterupVerify
import Foundation

/// Runs a rollout one host at a time: for each step, mark it on the availability watch, put its
/// guard up (drain the apiserver, hand the VIP over, move etcd leadership away), run the caller's
/// action, wait until the caller says the host is ready (and, for etcd, the member is caught up),
/// take the guard down (undrain, rejoin). The first failure stops the rollout with the host, the
/// step, the command, its stderr and the state the cluster is left in. Blocking: run it on a
/// dedicated thread.
public final class RollingHosts: @unchecked Sendable {
    public let watch: AvailabilityWatch?
    public let drain: BackendDrain?
    public let handover: VIPHandover?
    public let etcd: EtcdMembers?
    /// Raised (Ctrl-C): the rollout stops before the next step, never inside one.
    public let cancel: CancelFlag?
    let progress: @Sendable (String) -> Void

    /// How one step went.
    public struct Outcome: Sendable, Equatable {
        public var step: RollingStep
        /// What the guards did, in order.
        public var notes: [String]
        /// How long each stage took (`guard`, `action`, `ready`, `restore`): where a turn's time goes.
        public var stages: [Stage] = []
    }

    public struct Stage: Sendable, Equatable {
        public var name: String
        public var elapsed: Duration
    }

    /// The guards a plan's steps use must be given: `drain` for drainAPIServer, `handover` for
    /// handOverVIP, `etcd` for etcdMember.
    public init(watch: AvailabilityWatch?, drain: BackendDrain? = nil, handover: VIPHandover? = nil, etcd: EtcdMembers? = nil,
                cancel: CancelFlag? = nil, progress: @escaping @Sendable (String) -> Void) {
        self.watch = watch
        self.drain = drain
        self.handover = handover
        self.etcd = etcd
        self.cancel = cancel
        self.progress = progress
    }

    /// Runs `steps` in order. `action` changes the host (install, restart); `ready` returns once
    /// the changed component serves on that host (its /readyz, /healthz, `--version`). Both throw
    /// to stop the rollout; a `RolloutCommandError` keeps its command and stderr in the report.
    public func run(_ steps: [RollingStep],
                    action: (RollingStep) throws -> Void,
                    ready: (RollingStep) throws -> Void) throws(RolloutFailure) -> [Outcome] {
        try run(steps, noting: { step in
            try action(step)
            return []
        }, ready: ready)
    }

    /// As `run(_:action:ready:)`, the action returning notes for the step's outcome (how it
    /// changed the host, when that matters: a restart in place, or the hand-over it fell back to).
    public func run(_ steps: [RollingStep],
                    noting action: (RollingStep) throws -> [String],
                    ready: (RollingStep) throws -> Void) throws(RolloutFailure) -> [Outcome] {
        var ledger = RolloutLedger(plan: steps)
        // etcd: members done in this run, for the choice of the next leader.
        var etcdDone: Set<String> = []
        let etcdOrder = steps.filter { $0.guarding == .etcdMember }.map(\.host)
        var stages: [[Stage]] = []
        let clock = ContinuousClock()
        for step in steps {
            if cancel?.isRaised == true {
                watch?.endStep()
                throw RolloutFailure(host: step.host, step: "\(step.name) (not started)", reason: "interrupted before this step",
                                     state: ledger.state)
            }
            ledger.begin(step)
            watch?.mark(step: step.name, host: step.host)
            progress("\(step.host): \(step.name)")
            var stage = "guard"
            var timings: [Stage] = []
            var started = clock.now
            func timed(_ next: String) {
                let now = clock.now
                timings.append(Stage(name: stage, elapsed: now - started))
                stage = next
                started = now
            }
            do {
                ledger.reached(.guarded, note: try raiseGuard(step, etcdOrder: etcdOrder, etcdDone: etcdDone))
                timed("action")
                let notes = try action(step)
                ledger.reached(.acted, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
                timed("ready")
                try ready(step)
                if step.guarding == .etcdMember, let etcd {
                    let status = try etcd.awaitCaughtUp(step.host)
                    ledger.reached(.ready, note: "etcd member healthy, applied index \(status.raftAppliedIndex)" + (status.version.isEmpty ? "" : ", version \(status.version)"))
                    etcdDone.insert(step.host)
                } else {
                    ledger.reached(.ready)
                }
                timed("restore")
                ledger.reached(.restored, note: try lowerGuard(step))
                timed("done")
                stages.append(timings)
            } catch {
                ledger.fail(String(describing: error))
                watch?.endStep()
                throw RolloutFailure(host: step.host, step: "\(step.name) (\(stage))", error: error, state: ledger.state)
            }
            if let note = ledger.entries.last?.notes.joined(separator: "; "), !note.isEmpty { progress("\(step.host): \(note)") }
        }
        watch?.endStep()
        return zip(ledger.entries, stages).map { Outcome(step: $0.step, notes: $0.notes, stages: $1) }
    }

    /// Takes down guards an interrupted rollout left up (it was killed between guard and
    /// restore): apiservers still drained on some HAProxy are taken back once `ready` says they
    /// serve, lb hosts whose VRRP daemon is stopped rejoin. A re-run calls it first, since the
    /// plan it recomputes no longer names a host whose component already runs the new version.
    /// Returns what it did.
    public func recoverGuards(apiservers: [String], ready: (String) throws -> Void) throws -> [String] {
        var done: [String] = []
        if let drain {
            for server in apiservers {
                let stats = try drain.stats(server)
                let held = stats.filter { $0.value.status == "DRAIN" || $0.value.status == "MAINT" }.map(\.key).sorted()
                guard !held.isEmpty else { continue }
                progress("\(server): kube-apiserver left \(stats[held[0]]!.status) on \(held.joined(separator: ", ")) by an interrupted run: taking it back")
                try ready(server)
                try drain.undrain(server)
                done.append("\(server): undrained (left drained by an interrupted run)")
            }
        }
        if let handover {
            for host in handover.balancers.keys.sorted() {
                let active = try handover.balancers[host]!.run("systemctl is-active --quiet \(shellQuote(handover.vrrpUnit))", sudo: true, timeout: 15)
                guard !active.succeeded else { continue }
                progress("\(host): \(handover.vrrpUnit) left stopped by an interrupted run: starting it")
                let rejoined = try handover.rejoin(host)
                done.append("\(host): \(handover.vrrpUnit) started again (\(rejoined.holder) holds the VIP)")
            }
        }
        return done
    }

    func raiseGuard(_ step: RollingStep, etcdOrder: [String], etcdDone: Set<String>) throws -> String? {
        switch step.guarding {
        case .none:
            return nil
        case .drainAPIServer:
            let drain = try required(drain, step)
            // Only the VIP holder's HAProxy carries client connections; an unknown holder counts all.
            let holders = (try? handover?.holders()).flatMap { $0.isEmpty ? nil : $0 }
            let drained = try drain.drain(step.host, serving: holders)
            return "drained on \(drain.hosts.joined(separator: ", "))"
                + (drained.sessionsLeft == 0 ? " (its sessions ended)" : " (\(drained.sessionsLeft) session(s) still open after \(Int(drain.sessionsLimit.components.seconds)) s: the restart closes them)")
        case .handOverVIP:
            let handover = try required(handover, step)
            guard try handover.holders().contains(step.host) else { return nil }
            let moved = try handover.handOver(from: step.host)
            return "VIP handed over to \(moved.to)" + (moved.forwarded ? " (forwarding what still reached this host)" : "")
        case .etcdMember:
            let etcd = try required(etcd, step)
            let view = try etcd.view()
            guard let successor = EtcdMemberOrder.successor(of: step.host, leader: view.leader, order: etcdOrder,
                                                            done: etcdDone, started: view.started) else { return nil }
            try etcd.moveLeader(from: step.host, to: successor)
            return "etcd leadership moved to \(successor)"
        }
    }

    func lowerGuard(_ step: RollingStep) throws -> String? {
        switch step.guarding {
        case .none, .etcdMember:
            return nil
        case .drainAPIServer:
            try required(drain, step).undrain(step.host)
            return "undrained: every HAProxy reports it UP"
        case .handOverVIP:
            let rejoined = try required(handover, step).rejoin(step.host)
            return rejoined.tookBack ? "VRRP daemon rejoined and took the VIP back" : "VRRP daemon rejoined; \(rejoined.holder) keeps the VIP"
        }
    }

    func required<T>(_ piece: T?, _ step: RollingStep) throws -> T {
        guard let piece else {
            throw ClusterupError.local("step '\(step.name)' on \(step.host) needs the \(step.guarding.rawValue) guard, which this rollout was not given")
        }
        return piece
    }
}
