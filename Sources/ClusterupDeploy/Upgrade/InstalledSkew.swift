/// The skew policy applied to what the hosts run now, not to a change: `verify` fails when the
/// cluster as installed breaks a rule (an upgrade done by hand, a host restored from an old
/// image). The rules and their limits are `SkewPolicy`'s and `VersionChangePolicy.table`'s: the
/// cluster is judged as if its oldest copy of each component were being upgraded to its newest.
public enum InstalledSkew {
    /// A rule the installed versions break: the rule, the component and each host's release.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        public var rule: SkewRule
        public var component: UpgradeComponent
        /// Release → hosts running it, oldest release first.
        public var versions: [(release: String, hosts: [String])]

        public var description: String {
            let running = versions.map { "\($0.release) on \($0.hosts.joined(separator: ", "))" }.joined(separator: "; ")
            return "\(component.rawValue) \(running): breaks rule \(rule.id): \(rule.statement) (\(rule.source))"
        }

        public static func == (a: Self, b: Self) -> Bool {
            a.rule == b.rule && a.component == b.component
                && a.versions.map(\.release) == b.versions.map(\.release) && a.versions.map(\.hosts) == b.versions.map(\.hosts)
        }
    }

    /// Every rule the installed versions break. Hosts whose version cannot be read are left out
    /// (the caller says they were not read). Pure.
    public static func violations(_ hosts: [HostVersions]) -> [Violation] {
        var installed: [UpgradeComponent: [(host: String, version: ComponentVersion)]] = [:]
        for host in hosts {
            for (component, reading) in host.installed {
                if let version = reading.version { installed[component, default: []].append((host.host, version)) }
            }
        }
        func releases(_ component: UpgradeComponent) -> [(release: String, hosts: [String])] {
            var byRelease: [(version: ComponentVersion, hosts: [String])] = []
            for copy in installed[component] ?? [] {
                if let index = byRelease.firstIndex(where: { $0.version.sameRelease(copy.version) }) {
                    byRelease[index].hosts.append(copy.host)
                } else {
                    byRelease.append((copy.version, [copy.host]))
                }
            }
            return byRelease.sorted { $0.version < $1.version }.map { (release: $0.version.text, hosts: $0.hosts) }
        }
        var found: [Violation] = []
        // The components whose row of the table limits a step (etcd, kube-apiserver): their oldest
        // copy must be a step the table allows from their newest. The others (HAProxy, the VRRP
        // daemons) may differ between hosts: a mixed-release cluster is no violation.
        for component in UpgradeComponent.allCases where VersionChangePolicy.table[component]?.maxMinorStep != nil {
            guard let copies = installed[component], let newest = copies.map(\.version).max() else { continue }
            if let refusal = SkewPolicy.check(component, installed: copies, to: newest, allowDowngrade: true) {
                found.append(Violation(rule: refusal.rule, component: component, versions: releases(component)))
            }
        }
        // kube-controller-manager and kube-scheduler against the apiservers: never newer than the
        // oldest, at most one minor behind the newest.
        if let apiservers = installed[.kubeAPIServer], let oldest = apiservers.map(\.version).min() {
            for controller in [UpgradeComponent.kubeControllerManager, .kubeScheduler] {
                guard let copies = installed[controller], let newest = copies.map(\.version).max() else { continue }
                if let refusal = SkewPolicy.checkControllers(apiservers: apiservers, apiserverTarget: oldest, controller: controller,
                                                             installed: copies, target: newest) {
                    let against = releases(.kubeAPIServer).map { (release: "kube-apiserver \($0.release)", hosts: $0.hosts) }
                    found.append(Violation(rule: refusal.rule, component: controller, versions: releases(controller) + against))
                }
            }
        }
        return found
    }
}
