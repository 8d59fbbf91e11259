/// A rule an upgrade must keep, quoted in every refusal and in every step it orders.
public struct SkewRule: Sendable, Equatable {
    /// Stable name, for JSON and tests.
    public var id: String
    public var statement: String
    /// Where the rule comes from.
    public var source: String
}

public enum SkewRules {
    static let kubernetes = "Kubernetes version skew policy"
    static let etcdGuide = "etcd upgrade guides (3.4 to 3.5, 3.5 to 3.6)"

    public static let apiserverOneMinor = SkewRule(
        id: "kube-apiserver-one-minor",
        statement: "kube-apiserver is upgraded one minor version at a time: the newest and the oldest kube-apiserver of a cluster are at most one minor version apart",
        source: kubernetes)
    public static let controllersNotNewer = SkewRule(
        id: "controllers-not-newer-than-apiserver",
        statement: "kube-controller-manager and kube-scheduler are never newer than the oldest kube-apiserver: they are upgraded after every kube-apiserver is (and downgraded before)",
        source: kubernetes)
    public static let controllersOneMinorOlder = SkewRule(
        id: "controllers-at-most-one-minor-older",
        statement: "kube-controller-manager and kube-scheduler are at most one minor version older than kube-apiserver",
        source: kubernetes)
    public static let etcdOneMinor = SkewRule(
        id: "etcd-one-minor",
        statement: "etcd is upgraded one minor version at a time (3.4 → 3.5 → 3.6), member by member",
        source: etcdGuide)
    public static let etcdNoDowngrade = SkewRule(
        id: "etcd-no-downgrade",
        statement: "etcd is not downgraded to an older minor version by replacing its binary: the newer members have moved the cluster's storage version on; restore a snapshot taken before the upgrade instead",
        source: etcdGuide)
    public static let noDowngrade = SkewRule(
        id: "no-downgrade",
        statement: "a component is not downgraded unless the operator says so with --allow-downgrade",
        source: "clusterup")
    public static let sameMajor = SkewRule(
        id: "same-major",
        statement: "a rolling upgrade stays within one major version",
        source: "clusterup")

    public static let all = [apiserverOneMinor, controllersNotNewer, controllersOneMinorOlder, etcdOneMinor, etcdNoDowngrade, noDowngrade, sameMajor]
}

/// What the policy lets one component's version change do, as a row of a table.
public struct VersionChangePolicy: Sendable, Equatable {
    /// Largest step up in minor versions, from the oldest installed copy; nil: no limit.
    public var maxMinorStep: Int?
    public var minorStepRule: SkewRule?
    /// An older minor version: never (etcd), or with --allow-downgrade.
    public var minorDowngrade: Downgrade
    public enum Downgrade: Sendable, Equatable { case never, withFlag }

    /// The table: Kubernetes' skew policy and etcd's upgrade policy. HAProxy and the VRRP
    /// daemons keep no state between versions: any version, a downgrade only when asked.
    public static let table: [UpgradeComponent: VersionChangePolicy] = [
        .etcd: .init(maxMinorStep: 1, minorStepRule: SkewRules.etcdOneMinor, minorDowngrade: .never),
        .kubeAPIServer: .init(maxMinorStep: 1, minorStepRule: SkewRules.apiserverOneMinor, minorDowngrade: .withFlag),
        // They follow the apiservers: their own limit is checked against the apiservers' versions.
        .kubeControllerManager: .init(maxMinorStep: nil, minorStepRule: nil, minorDowngrade: .withFlag),
        .kubeScheduler: .init(maxMinorStep: nil, minorStepRule: nil, minorDowngrade: .withFlag),
        .haproxy: .init(maxMinorStep: nil, minorStepRule: nil, minorDowngrade: .withFlag),
        .keepalived: .init(maxMinorStep: nil, minorStepRule: nil, minorDowngrade: .withFlag),
        .clusterupVRRPD: .init(maxMinorStep: nil, minorStepRule: nil, minorDowngrade: .withFlag),
    ]
}

/// An upgrade the policy forbids: the rule, the versions, what to do instead.
public struct UpgradeRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var rule: SkewRule
    public var component: UpgradeComponent
    public var from: String
    public var to: String
    /// The hosts concerned, when the refusal is about some of them.
    public var hosts: [String]
    public var message: String
    public var hint: String

    public var description: String {
        "\(message) (rule \(rule.id): \(rule.statement); \(rule.source))\n  hint: \(hint)"
    }
}

public enum SkewPolicy {
    /// Whether `component` may go from the versions installed now (`installed`, one per host
    /// that has it) to `target`. Only the component's own row of the table: the rules that tie
    /// the controllers to the apiservers are `checkControllers`.
    public static func check(
        _ component: UpgradeComponent, installed: [(host: String, version: ComponentVersion)], to target: ComponentVersion,
        allowDowngrade: Bool
    ) -> UpgradeRefusal? {
        let policy = VersionChangePolicy.table[component]!
        let changing = installed.filter { !$0.version.sameRelease(target) }
        guard !changing.isEmpty else { return nil }
        func refusal(_ rule: SkewRule, from: ComponentVersion, hosts: [String], _ message: String, _ hint: String) -> UpgradeRefusal {
            UpgradeRefusal(rule: rule, component: component, from: from.text, to: target.text, hosts: hosts, message: message, hint: hint)
        }
        if let other = changing.first(where: { $0.version.major != target.major }) {
            return refusal(SkewRules.sameMajor, from: other.version, hosts: [other.host],
                           "\(component.rawValue) \(other.version) → \(target) on \(other.host) changes the major version",
                           "install the new major version as a new cluster, or keep \(component.rawValue) at \(other.version.major).x")
        }
        // Older copies first: a downgrade is judged from the newest, an upgrade from the oldest.
        let newest = changing.max { $0.version < $1.version }!
        if target < newest.version {
            let downgraded = changing.filter { target < $0.version }
            let hosts = downgraded.map(\.host)
            if target.minor < newest.version.minor, policy.minorDowngrade == .never {
                return refusal(SkewRules.etcdNoDowngrade, from: newest.version, hosts: hosts,
                               "\(component.rawValue) \(newest.version) → \(target) on \(hosts.joined(separator: ", ")) is a downgrade to an older minor version",
                               "keep \(component.rawValue) at \(newest.version.minorText).x, or restore a snapshot taken before the upgrade (`clusterup etcd restore`)")
            }
            if !allowDowngrade {
                return refusal(SkewRules.noDowngrade, from: newest.version, hosts: hosts,
                               "\(component.rawValue) \(newest.version) → \(target) on \(hosts.joined(separator: ", ")) is a downgrade",
                               "pass --allow-downgrade if that is what you want, or set the inventory's version back to \(newest.version)")
            }
            if let limit = policy.maxMinorStep, newest.version.minor - target.minor > limit {
                return refusal(policy.minorStepRule!, from: newest.version, hosts: hosts,
                               "\(component.rawValue) \(newest.version) → \(target) goes down \(newest.version.minor - target.minor) minor versions at once",
                               "go through \(target.major).\(newest.version.minor - 1) first")
            }
        }
        if let limit = policy.maxMinorStep {
            // The oldest copy of the whole cluster, changing or not, bounds the step.
            let oldest = installed.min { $0.version < $1.version }!
            let step = oldest.version.minorsTo(target)
            if step > limit {
                let hosts = installed.filter { $0.version.minor == oldest.version.minor }.map(\.host)
                let via = (oldest.version.minor + 1...target.minor - 1).map { "\(target.major).\($0)" }.joined(separator: ", then ")
                return refusal(policy.minorStepRule!, from: oldest.version, hosts: hosts,
                               "\(component.rawValue) \(oldest.version) → \(target) skips \(step - 1) minor version(s) (\(hosts.joined(separator: ", ")) at \(oldest.version))",
                               "go through \(via) first: set the inventory to a \(target.major).\(oldest.version.minor + 1) release, upgrade, then to \(target)")
            }
        }
        return nil
    }

    /// kube-controller-manager and kube-scheduler against the apiservers: never newer than the
    /// apiservers' target, and at most one minor older than any apiserver of the roll, whether
    /// still at its installed version or already at its target.
    public static func checkControllers(
        apiservers: [(host: String, version: ComponentVersion)], apiserverTarget: ComponentVersion,
        controller component: UpgradeComponent, installed: [(host: String, version: ComponentVersion)], target: ComponentVersion?
    ) -> UpgradeRefusal? {
        if let target, apiserverTarget < target {
            return UpgradeRefusal(
                rule: SkewRules.controllersNotNewer, component: component, from: installed.first?.version.text ?? "-",
                to: target.text, hosts: installed.map(\.host),
                message: "\(component.rawValue) \(target) would be newer than kube-apiserver \(apiserverTarget)",
                hint: "give \(component.rawValue) and kube-apiserver the same version (control_plane.version)")
        }
        let newest = (apiservers.map(\.version) + [apiserverTarget]).max()!
        let copies = installed + (target.map { t in installed.prefix(1).map { (host: $0.host, version: t) } } ?? [])
        for copy in copies where copy.version.major == newest.major && newest.minor - copy.version.minor > 1 {
            let behind = newest.minor - copy.version.minor
            return UpgradeRefusal(
                rule: SkewRules.controllersOneMinorOlder, component: component, from: copy.version.text, to: newest.text,
                hosts: [copy.host],
                message: "\(component.rawValue) \(copy.version) on \(copy.host) would be \(behind) minor versions older than kube-apiserver \(newest)",
                hint: "bring \(component.rawValue) to \(newest.major).\(newest.minor - 1) first (with kube-apiserver: control_plane.version)")
        }
        return nil
    }
}
