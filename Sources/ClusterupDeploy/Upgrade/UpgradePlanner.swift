import ClusterupCore

/// Turns (what the inventory wants, what the hosts have, who leads etcd, who holds the VIP) into
/// the ordered steps of a rolling upgrade, or refuses what the skew rules forbid. Hosts already
/// at the wanted version get no step, so the plan recomputed after a failure resumes the upgrade.
public enum UpgradePlanner {
    public static let controllerManagerPort = 10257
    public static let schedulerPort = 10259

    public static func plan(_ request: UpgradeRequest, facts: UpgradeFacts) throws -> UpgradePlan {
        var notes: [String] = []
        var states: [UpgradePlan.ComponentState] = []
        // Per component: the hosts to change, with their installed version.
        var changes: [UpgradeComponent: [(host: String, from: InstalledVersion)]] = [:]
        var targets: [UpgradeComponent: ComponentVersion] = [:]

        for component in UpgradeComponent.allCases {
            let present = facts.hosts.compactMap { host in host.installed[component].map { (host: host.host, version: $0) } }
            guard !present.isEmpty else { continue }
            let wanted = request.wanted[component] ?? .unknown("not in the request")
            states.append(.init(component: component, wanted: wanted, installed: present))
            let missing = present.filter { !$0.version.isInstalled }.map(\.host)
            if !missing.isEmpty {
                notes.append("\(component.rawValue) is not installed on \(missing.joined(separator: ", ")): `clusterup deploy` installs it, upgrade leaves it")
            }
            let installed = present.filter(\.version.isInstalled)
            switch wanted {
            case .unknown(let why):
                notes.append("\(component.rawValue): wanted version not declared (\(why)); left as installed")
            case .build(let sha256, _):
                changes[component] = installed.filter { $0.version.build?.lowercased() != sha256 }.map { ($0.host, $0.version) }
            case .version(let target, _):
                let versions = try installed.map { entry -> (host: String, version: ComponentVersion) in
                    guard let version = entry.version.version else {
                        throw ClusterupError.remote("cannot read \(component.rawValue)'s version from '\(entry.version.text)'", host: entry.host,
                                                    hint: "check the program at its artifact path prints its version with \(component.versionFlag)")
                    }
                    return (entry.host, version)
                }
                if let refusal = SkewPolicy.check(component, installed: versions, to: target, allowDowngrade: request.allowDowngrade) {
                    throw refusal
                }
                targets[component] = target
                changes[component] = zip(installed, versions).filter { !$1.version.sameRelease(target) }.map { ($0.0.host, $0.0.version) }
            }
        }
        try checkControllers(states: states, targets: targets)

        var steps: [UpgradeStep] = []
        steps += try etcdSteps(changes[.etcd] ?? [], target: targets[.etcd], facts: facts)
        let apiservers = controlPlaneSteps(changes, targets: targets, facts: facts, states: states)
        steps += apiservers
        let (lbSteps, lbNotes) = try loadBalancerSteps(changes, request: request, facts: facts)
        steps += lbSteps
        notes += lbNotes
        // A step to an older release says so.
        for (index, step) in steps.enumerated() where step.action == .upgrade {
            if let target = targets[step.component], let from = step.from.flatMap(ComponentVersion.init(parsing:)), target < from {
                steps[index].action = .downgrade
            }
        }
        return UpgradePlan(steps: steps, components: states, notes: notes)
    }

    // MARK: etcd

    static func etcdSteps(_ changes: [(host: String, from: InstalledVersion)], target: ComponentVersion?, facts: UpgradeFacts) throws -> [UpgradeStep] {
        guard !changes.isEmpty, let target else { return [] }
        let members = facts.hosts.filter { $0.installed[.etcd] != nil }.map(\.host)
        guard let leader = facts.etcdLeader ?? (members.count == 1 ? members.first : nil) else {
            throw ClusterupError.remote(
                "the etcd leader is not known: members cannot be upgraded followers first, the leader last",
                hint: "check etcd with `clusterup status`; every member must answer before an upgrade")
        }
        let minor = changes.contains { $0.from.version?.minor != target.minor }
        let mixed = minor ? " (mixed \(changes[0].from.version?.minorText ?? "?")/\(target.minorText) members are supported during the roll)" : ""
        var steps = [UpgradeStep(
            host: leader, component: .etcd, action: .snapshot, check: .snapshotSaved,
            rule: "an etcd snapshot before any etcd change: the way back if the new version misbehaves")]
        for change in changes where change.host != leader {
            steps.append(UpgradeStep(
                host: change.host, component: .etcd, action: .upgrade, from: change.from.display, to: target.text,
                check: .etcdMemberCaughtUp(version: target.text),
                rule: "etcd followers one at a time, each caught up before the next: a quorum serves throughout\(mixed)"))
        }
        if let leaderChange = changes.first(where: { $0.host == leader }) {
            // Every other member is at the target by now: the first of them takes the lead.
            if let successor = members.first(where: { $0 != leader }) {
                steps.append(UpgradeStep(
                    host: leader, component: .etcd, action: .moveLeader, to: successor, check: .etcdLeader(successor),
                    rule: "leadership moves to an upgraded member before the leader restarts: one planned election, not a lost leader"))
            }
            steps.append(UpgradeStep(
                host: leader, component: .etcd, action: .upgrade, from: leaderChange.from.display, to: target.text,
                check: .etcdMemberCaughtUp(version: target.text), rule: "the etcd leader last"))
        }
        return steps
    }

    // MARK: control plane

    static func checkControllers(states: [UpgradePlan.ComponentState], targets: [UpgradeComponent: ComponentVersion]) throws {
        guard let apiserverTarget = targets[.kubeAPIServer],
              let apiservers = states.first(where: { $0.component == .kubeAPIServer }) else { return }
        let installedAPIServers = apiservers.installed.compactMap { e in e.version.version.map { (host: e.host, version: $0) } }
        for component in [UpgradeComponent.kubeControllerManager, .kubeScheduler] {
            guard let state = states.first(where: { $0.component == component }) else { continue }
            let installed = state.installed.compactMap { e in e.version.version.map { (host: e.host, version: $0) } }
            if let refusal = SkewPolicy.checkControllers(
                apiservers: installedAPIServers, apiserverTarget: apiserverTarget, controller: component,
                installed: installed, target: targets[component]) {
                throw refusal
            }
        }
    }

    /// kube-apiserver one host at a time, drained from every HAProxy around its restart; then
    /// kube-controller-manager and kube-scheduler one host at a time (before the apiservers when
    /// going down: they are never newer than the oldest apiserver).
    static func controlPlaneSteps(
        _ changes: [UpgradeComponent: [(host: String, from: InstalledVersion)]], targets: [UpgradeComponent: ComponentVersion],
        facts: UpgradeFacts, states: [UpgradePlan.ComponentState]
    ) -> [UpgradeStep] {
        let lbHosts = facts.hosts.filter { $0.installed[.haproxy] != nil }.map(\.host)
        var apiserverSteps: [UpgradeStep] = []
        if let target = targets[.kubeAPIServer] {
            for change in changes[.kubeAPIServer] ?? [] {
                if !lbHosts.isEmpty {
                    apiserverSteps.append(UpgradeStep(
                        host: change.host, component: .kubeAPIServer, action: .drain, check: .backendDrained(lbHosts: lbHosts),
                        rule: "every HAProxy stops sending new connections to \(change.host)'s apiserver before it restarts"))
                }
                apiserverSteps.append(UpgradeStep(
                    host: change.host, component: .kubeAPIServer, action: .upgrade, from: change.from.display, to: target.text,
                    check: .apiserverReady(version: target.text),
                    rule: "kube-apiserver one host at a time, the others serving (rule \(SkewRules.apiserverOneMinor.id))"))
                if !lbHosts.isEmpty {
                    apiserverSteps.append(UpgradeStep(
                        host: change.host, component: .kubeAPIServer, action: .undrain, check: .backendUp(lbHosts: lbHosts),
                        rule: "back in rotation once /readyz answers"))
                }
            }
        }
        let hosts = facts.hosts.map(\.host)
        var controllerSteps: [UpgradeStep] = []
        let apiserverTarget = targets[.kubeAPIServer]?.text ?? "their version"
        for host in hosts {
            for (component, port) in [(UpgradeComponent.kubeControllerManager, controllerManagerPort), (.kubeScheduler, schedulerPort)] {
                guard let target = targets[component], let change = changes[component]?.first(where: { $0.host == host }) else { continue }
                controllerSteps.append(UpgradeStep(
                    host: host, component: component, action: .upgrade, from: change.from.display, to: target.text,
                    check: .healthz(port: port, version: target.text),
                    rule: "one host at a time, once every kube-apiserver is at \(apiserverTarget) (rule \(SkewRules.controllersNotNewer.id))"))
            }
        }
        // Going down, the controllers go first so they are never newer than an apiserver.
        let newestAPIServer = states.first { $0.component == .kubeAPIServer }?.installed.compactMap(\.version.version).max()
        if let target = targets[.kubeAPIServer], let newestAPIServer, target < newestAPIServer {
            for index in controllerSteps.indices {
                controllerSteps[index].rule = "one host at a time, before any kube-apiserver goes down (rule \(SkewRules.controllersNotNewer.id))"
            }
            return controllerSteps + apiserverSteps
        }
        return apiserverSteps + controllerSteps
    }

    // MARK: load balancers

    /// HAProxy and the VRRP daemon: the backups first, one at a time; the VIP holder last, after
    /// it hands the VIP to a backup (a resignation: the backup takes over within Skew_Time).
    static func loadBalancerSteps(
        _ changes: [UpgradeComponent: [(host: String, from: InstalledVersion)]], request: UpgradeRequest, facts: UpgradeFacts
    ) throws -> ([UpgradeStep], [String]) {
        let components: [UpgradeComponent] = [.haproxy, .keepalived, .clusterupVRRPD]
        let changing = facts.hosts.map(\.host).filter { host in components.contains { changes[$0]?.contains { $0.host == host } ?? false } }
        guard !changing.isEmpty else { return ([], []) }
        let lbHosts = facts.hosts.filter { $0.installed[.haproxy] != nil || $0.installed[.clusterupVRRPD] != nil || $0.installed[.keepalived] != nil }.map(\.host)
        guard let holder = facts.vipHolder else {
            throw ClusterupError.remote(
                "the VIP is not held by exactly one lb host: the load balancers cannot be upgraded backups first, the VIP holder last",
                hint: "check with `clusterup status` and bring the VIP back (`clusterup deploy`) before upgrading")
        }
        var notes: [String] = []
        let priority = { (host: String) in request.vrrpPriorities[host] ?? 0 }
        let takesBack = request.preempt && lbHosts.allSatisfy { $0 == holder || priority($0) < priority(holder) }
        var steps: [UpgradeStep] = []
        for host in changing.filter({ $0 != holder }) + changing.filter({ $0 == holder }) {
            let isHolder = host == holder
            if isHolder, restartsInPlace(host, changes: changes, facts: facts), let change = changes[.clusterupVRRPD]?.first(where: { $0.host == host }) {
                // Nothing but the daemon changes there, and the daemon running can replace itself
                // while Master: no hand-over, no take-back, the VIP stays.
                let to = request.wanted[.clusterupVRRPD]?.text ?? "-"
                steps.append(UpgradeStep(host: host, component: .clusterupVRRPD, action: .upgrade, from: change.from.display, to: to,
                                         check: .vrrpRestartedInPlace(version: to),
                                         rule: "the VIP holder last, restarted in place (SIGUSR2): it stays Master, so the VIP does not move"))
                continue
            }
            if isHolder {
                // The backup with the highest priority takes the VIP (first in inventory order on a tie).
                if let successor = lbHosts.filter({ $0 != holder }).max(by: { priority($0) < priority($1) || (priority($0) == priority($1) && lbHosts.firstIndex(of: $0)! > lbHosts.firstIndex(of: $1)!) }) {
                    steps.append(UpgradeStep(
                        host: host, component: vrrpComponent(facts, host), action: .handOverVIP, to: successor, check: .vipHeldBy(successor),
                        rule: "the VIP holder last, after it resigns the VIP (priority 0): \(successor) takes it within Skew_Time, a few milliseconds"))
                } else {
                    notes.append("\(host) is the only lb host: the VIP is unreachable while its load balancer restarts")
                }
            }
            let order = isHolder ? "the VIP holder last" : "a VIP backup, one at a time before the holder: the VIP keeps serving"
            for component in components {
                guard let change = changes[component]?.first(where: { $0.host == host }) else { continue }
                let to = request.wanted[component]?.text ?? "-"
                let check: UpgradeCheck = component == .haproxy
                    ? .haproxyBackendsUp(version: to)
                    : .vrrpRunning(version: to, takesVIPBack: isHolder && takesBack)
                steps.append(UpgradeStep(host: host, component: component, action: .upgrade, from: change.from.display, to: to,
                                         check: check, rule: order))
            }
            let daemon = vrrpComponent(facts, host)
            if isHolder, steps.last?.component != daemon, steps.contains(where: { $0.action == .handOverVIP }),
               let running = facts.hosts.first(where: { $0.host == host })?.installed[daemon] {
                // The daemon resigned for the handover and was not replaced: it starts again as it was.
                steps.append(UpgradeStep(host: host, component: daemon, action: .rejoinVRRP,
                                         check: .vrrpRunning(version: running.display, takesVIPBack: takesBack), rule: "after the holder's load balancer is back"))
            }
        }
        if changing.contains(holder), !takesBack {
            notes.append("\(holder) does not take the VIP back after its upgrade (\(request.preempt ? "another lb host has a higher or equal priority" : "preempt is off"))")
        }
        return (steps, notes)
    }

    /// On `host`, clusterup-vrrpd is the only load-balancer component that changes, and the
    /// daemon running there restarts in place (an older build does not: it gets the hand-over).
    static func restartsInPlace(_ host: String, changes: [UpgradeComponent: [(host: String, from: InstalledVersion)]], facts: UpgradeFacts) -> Bool {
        let changing = [UpgradeComponent.haproxy, .keepalived, .clusterupVRRPD].filter { component in
            changes[component]?.contains { $0.host == host } ?? false
        }
        return changing == [.clusterupVRRPD] && facts.hosts.first { $0.host == host }?.vrrpdRestartsInPlace == true
    }

    static func vrrpComponent(_ facts: UpgradeFacts, _ host: String) -> UpgradeComponent {
        facts.hosts.first { $0.host == host }?.installed[.keepalived] != nil ? .keepalived : .clusterupVRRPD
    }
}

extension UpgradePlanner {
    /// One line per component whose declared version differs from what some host runs: the
    /// version changes deploy leaves to `upgrade` (programs not installed yet are deploy's).
    public static func pendingVersionChanges(_ wanted: [UpgradeComponent: WantedVersion], hosts: [HostVersions]) -> [String] {
        UpgradeComponent.allCases.compactMap { component in
            guard case .version(let target, let field)? = wanted[component] else { return nil }
            let differing = hosts.compactMap { host in
                host.installed[component]?.version.flatMap { $0.sameRelease(target) ? nil : (host: host.host, version: $0) }
            }
            guard !differing.isEmpty else { return nil }
            let runs = Dictionary(grouping: differing, by: \.version.text).sorted { $0.key < $1.key }
                .map { "\($0.value.map(\.host).joined(separator: ", ")) \($0.value.count == 1 ? "runs" : "run") \($0.key)" }
            return "\(component.rawValue): \(runs.joined(separator: "; ")); \(field) asks for \(target)"
        }
    }
}
