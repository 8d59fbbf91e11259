/// One step of a rolling upgrade: a value an executor runs and a report names. Each names its
/// host, component, action, the versions, the check that ends it and the rule that put it here.
public struct UpgradeStep: Sendable, Equatable {
    public var host: String
    public var component: UpgradeComponent
    public var action: UpgradeAction
    public var from: String?
    public var to: String?
    public var check: UpgradeCheck
    /// Why the step is where it is.
    public var rule: String

    public init(host: String, component: UpgradeComponent, action: UpgradeAction, from: String? = nil, to: String? = nil,
                check: UpgradeCheck, rule: String) {
        self.host = host
        self.component = component
        self.action = action
        self.from = from
        self.to = to
        self.check = check
        self.rule = rule
    }

    /// `kube-apiserver upgrade v1.31.2 → v1.32.0`.
    public var summary: String {
        var text = "\(component.rawValue) \(action.rawValue)"
        if let from, let to { text += " \(from) → \(to)" } else if let to { text += " → \(to)" }
        return text
    }
}

public enum UpgradeAction: String, Sendable, Equatable, CaseIterable {
    /// `etcdctl snapshot save`, kept with its sha256, before any etcd change.
    case snapshot
    /// `etcdctl move-leader` to the step's `to` host.
    case moveLeader = "move-leader"
    /// Every HAProxy stops sending new connections to the host's apiserver (runtime API,
    /// `set server … state drain`).
    case drain
    /// Install the new program and restart the service.
    case upgrade
    /// The same with an older program (--allow-downgrade).
    case downgrade
    /// Every HAProxy takes the host's apiserver back (`set server … state ready`).
    case undrain
    /// The VIP holder resigns (VRRP priority 0) so a backup takes the VIP before its load
    /// balancer is touched.
    case handOverVIP = "hand-over-vip"
    /// The VRRP daemon that resigned the VIP starts again (when it was not upgraded itself).
    case rejoinVRRP = "rejoin-vrrp"
}

/// What must be true before the next step starts.
public enum UpgradeCheck: Sendable, Equatable {
    case snapshotSaved
    case etcdLeader(String)
    /// The member answers over TLS at the new version and its raft index has caught up with the leader's.
    case etcdMemberCaughtUp(version: String)
    /// HAProxy on each lb host reports the host's apiserver backend in DRAIN.
    case backendDrained(lbHosts: [String])
    /// The host's apiserver answers /readyz at the new version.
    case apiserverReady(version: String)
    /// HAProxy on each lb host reports the backend UP again.
    case backendUp(lbHosts: [String])
    /// The component's /healthz on its secure port answers ok at the new version.
    case healthz(port: Int, version: String)
    /// HAProxy on the host runs the new version with every apiserver backend UP.
    case haproxyBackendsUp(version: String)
    /// The VRRP daemon runs the new version; `takesVIPBack` says whether the VIP returns to it.
    case vrrpRunning(version: String, takesVIPBack: Bool)
    /// clusterup-vrrpd on the VIP holder replaced its process image with the new build (SIGUSR2)
    /// and is Master still: the VIP never left the host.
    case vrrpRestartedInPlace(version: String)
    /// The VIP is held by another lb host (the one expected, by priority).
    case vipHeldBy(String)

    public var description: String {
        switch self {
        case .snapshotSaved: "the snapshot is saved and its sha256 recorded"
        case .etcdLeader(let host): "etcd reports \(host) as leader"
        case .etcdMemberCaughtUp(let version): "the member runs \(version), is healthy over TLS and has caught up with the leader's raft index"
        case .backendDrained(let lbs): "HAProxy on \(lbs.joined(separator: ", ")) reports the backend in DRAIN"
        case .apiserverReady(let version): "kube-apiserver reports \(version) and /readyz answers ok"
        case .backendUp(let lbs): "HAProxy on \(lbs.joined(separator: ", ")) reports the backend UP"
        case .healthz(let port, let version): "it reports \(version) and /healthz on port \(port) answers ok"
        case .haproxyBackendsUp(let version): "HAProxy \(version) runs with every apiserver backend UP"
        case .vrrpRunning(let version, let back): back
            ? "the VRRP daemon runs \(version) and takes the VIP back (preempt, highest priority)"
            : "the VRRP daemon runs \(version) as BACKUP (the VIP stays where it is)"
        case .vrrpRestartedInPlace(let version): "the VRRP daemon, restarted in place (same pid, SIGUSR2), runs \(version) and is still Master: the VIP never moves"
        case .vipHeldBy(let host): "the VIP is held by \(host)"
        }
    }
}

/// The ordered steps, and per component what each host has against what is wanted.
public struct UpgradePlan: Sendable, Equatable {
    public struct ComponentState: Sendable, Equatable {
        public var component: UpgradeComponent
        public var wanted: WantedVersion
        /// Host → what it has, in inventory order.
        public var installed: [(host: String, version: InstalledVersion)]

        public static func == (a: Self, b: Self) -> Bool {
            a.component == b.component && a.wanted == b.wanted
                && a.installed.map(\.host) == b.installed.map(\.host) && a.installed.map(\.version) == b.installed.map(\.version)
        }
    }

    public var steps: [UpgradeStep]
    public var components: [ComponentState]
    /// What the plan leaves aside, and why (a version not declared, a host lacking a program).
    public var notes: [String]

    public var isEmpty: Bool { steps.isEmpty }
}
