import ClusterupDeploy
import ClusterupNodes

/// `upgrade plan`'s steps as the rollout runs them: the snapshot first, then one rolling step per
/// host turn, each with the guard the plan's steps around it ask for (drain/undrain → drain the
/// apiserver; hand-over-vip/rejoin-vrrp → hand the VIP over; etcd → move leadership, caught up)
/// and the component(s) installed in that turn. Pure.
public struct UpgradeRollout: Sendable, Equatable {
    public struct Turn: Sendable, Equatable {
        public var rolling: RollingStep
        /// The plan's upgrade/downgrade steps run in this turn, in order.
        public var installs: [UpgradeStep]

        public init(rolling: RollingStep, installs: [UpgradeStep]) {
            self.rolling = rolling
            self.installs = installs
        }
    }

    /// The etcd snapshot step, when etcd changes.
    public var snapshot: UpgradeStep?
    public var turns: [Turn]

    public init(snapshot: UpgradeStep?, turns: [Turn]) {
        self.snapshot = snapshot
        self.turns = turns
    }

    public init(_ plan: UpgradePlan) {
        var snapshot: UpgradeStep?
        var turns: [Turn] = []
        // The turn a drain or hand-over opened, until its undrain / the host's last lb step.
        var open: (host: String, guarding: RolloutGuard)?
        func add(_ step: UpgradeStep) {
            if let current = open, current.host == step.host, let last = turns.indices.last {
                turns[last].installs.append(step)
                return
            }
            let guarding = Self.guarding(step)
            turns.append(Turn(rolling: RollingStep(host: step.host, name: "", guarding: guarding), installs: [step]))
            // A backup's HAProxy and VRRP daemon share its turn; other components get one each.
            open = guarding == .handOverVIP ? (step.host, guarding) : nil
        }
        for step in plan.steps {
            switch step.action {
            case .snapshot:
                snapshot = step
            case .moveLeader:
                // RollingHosts' etcd guard moves leadership before the leader's own turn.
                continue
            case .drain:
                turns.append(Turn(rolling: RollingStep(host: step.host, name: "", guarding: .drainAPIServer), installs: []))
                open = (step.host, .drainAPIServer)
            case .undrain:
                open = nil
            case .handOverVIP:
                turns.append(Turn(rolling: RollingStep(host: step.host, name: "", guarding: .handOverVIP), installs: []))
                open = (step.host, .handOverVIP)
            case .rejoinVRRP:
                // The hand-over guard's rejoin starts the daemon again.
                continue
            case .upgrade, .downgrade:
                add(step)
            }
        }
        for index in turns.indices {
            turns[index].rolling.name = turns[index].installs.map(\.summary).joined(separator: ", ")
            if turns[index].installs.isEmpty { turns[index].rolling.name = "\(turns[index].rolling.guarding.rawValue) only" }
        }
        self.init(snapshot: snapshot, turns: turns)
    }

    /// The guard an install needs when no drain or hand-over opened its turn.
    static func guarding(_ step: UpgradeStep) -> RolloutGuard {
        // The holder's daemon replacing itself in place needs no hand-over: it stays Master.
        if case .vrrpRestartedInPlace = step.check { return .none }
        return switch step.component {
        case .etcd: .etcdMember
        case .kubeAPIServer, .kubeControllerManager, .kubeScheduler: .none
        // A backup's load balancer: no hand-over needed (it does not hold the VIP), but its VRRP
        // daemon must be running again before the next host.
        case .haproxy, .keepalived, .clusterupVRRPD: .handOverVIP
        }
    }

    public var rollingSteps: [RollingStep] { turns.map(\.rolling) }

    public var components: Set<UpgradeComponent> { Set(turns.flatMap { $0.installs.map(\.component) }) }
}
