/// What keeps clients served while one host is touched.
public enum RolloutGuard: String, Sendable, Equatable, Codable {
    /// Nothing to move away (controller-manager, scheduler: leader election covers them).
    case none
    /// Every HAProxy drains the host's apiserver before, and takes it back once /readyz answers.
    case drainAPIServer = "drain-apiserver"
    /// The VIP is handed over first when the host holds it; its VRRP daemon rejoins after.
    case handOverVIP = "hand-over-vip"
    /// etcd leadership moves away first when the host leads; after, the member must be healthy
    /// and caught up before the next host.
    case etcdMember = "etcd-member"
}

/// One host's turn in a rollout.
public struct RollingStep: Sendable, Equatable {
    public var host: String
    /// "kube-apiserver upgrade v1.31.2 → v1.32.0".
    public var name: String
    public var guarding: RolloutGuard

    public init(host: String, name: String, guarding: RolloutGuard) {
        self.host = host
        self.name = name
        self.guarding = guarding
    }
}

/// The stages of a step, in order. A step that stops between `guarded` and `restored` leaves
/// its guard in place (a drained backend, a stopped VRRP daemon): the failure report says so.
public enum RolloutStage: String, Sendable, Equatable, Codable {
    case guarded, acted, ready, restored
}

/// The bookkeeping of a rollout as a value: which steps ran which stages, what each guard did,
/// where it stopped, and what that leaves the cluster like. Pure, so the failure report for a
/// stop at every stage is tested without hosts.
public struct RolloutLedger: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var step: RollingStep
        public var stages: [RolloutStage] = []
        /// What the guards did ("drained on node1, node2, node3 (0 sessions left)", "VIP handed to node2").
        public var notes: [String] = []
        public var failure: String?

        public var done: Bool { stages.last == .restored }
    }

    public let plan: [RollingStep]
    public private(set) var entries: [Entry] = []

    public init(plan: [RollingStep]) {
        self.plan = plan
    }

    public mutating func begin(_ step: RollingStep) {
        entries.append(Entry(step: step))
    }

    public mutating func reached(_ stage: RolloutStage, note: String? = nil) {
        guard !entries.isEmpty else { return }
        entries[entries.count - 1].stages.append(stage)
        if let note { entries[entries.count - 1].notes.append(note) }
    }

    public mutating func fail(_ reason: String) {
        guard !entries.isEmpty else { return }
        entries[entries.count - 1].failure = reason
    }

    public var completed: [RollingStep] { entries.filter(\.done).map(\.step) }

    /// The steps not done yet, in order (the failed one first).
    public var remaining: [RollingStep] {
        let done = completed.count
        return Array(plan.dropFirst(done))
    }

    /// The cluster after the last entry, in words: how far the rollout got and what the
    /// unfinished step left in place.
    public var state: String {
        var words = ["\(completed.count) of \(plan.count) step(s) done"]
        guard let last = entries.last, !last.done else { return words.joined() }
        let host = last.step.host
        let guarded = last.stages.contains(.guarded)
        let acted = last.stages.contains(.acted)
        switch last.step.guarding {
        case .drainAPIServer where guarded:
            words.append("\(host)'s kube-apiserver is still drained on every HAProxy (the other apiservers serve the VIP)")
        case .handOverVIP where guarded:
            words.append("\(host)'s VRRP daemon is stopped" + (last.notes.last.map { " (\($0))" } ?? "") + ": the other lb hosts serve the VIP")
        case .etcdMember where acted:
            words.append("\(host)'s etcd member was restarted and is not confirmed healthy and caught up; the other members keep quorum")
        case .etcdMember where guarded:
            words.append(last.notes.last.map { "\($0); \(host)'s etcd member is unchanged" } ?? "\(host)'s etcd member is unchanged")
        default:
            break
        }
        if acted && last.step.guarding != .etcdMember {
            words.append("\(host) ran '\(last.step.name)' and was not confirmed ready")
        } else if !acted {
            words.append("'\(last.step.name)' did not run on \(host)")
        }
        return words.joined(separator: "; ")
    }
}
