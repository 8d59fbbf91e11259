import ClusterupCore
import ClusterupDeploy
import ClusterupVerify
import ClusterupNodes
import Foundation

/// `upgrade apply`'s executor: the rollout's turns through `RollingHosts`, each install done by
/// deploy's machinery (`UpgradeInstaller`), each turn ready when the component serves on its
/// host at the wanted version. Blocking: run it on a dedicated thread.
public struct UpgradeRun: Sendable {
    public let inventory: Inventory
    public let installer: UpgradeInstaller
    public let rollout: UpgradeRollout
    public let watch: AvailabilityWatch?
    /// Raised by Ctrl-C: stops before the next turn.
    public var cancel: CancelFlag?
    /// Longest wait for a component to serve after its restart.
    public var healthTimeout: Duration
    let progress: @Sendable (String) -> Void

    public init(inventory: Inventory, installer: UpgradeInstaller, rollout: UpgradeRollout, watch: AvailabilityWatch?,
                healthTimeout: Duration = .seconds(90), progress: @escaping @Sendable (String) -> Void) {
        self.inventory = inventory
        self.installer = installer
        self.rollout = rollout
        self.watch = watch
        self.healthTimeout = healthTimeout
        self.progress = progress
    }

    public func run() throws(RolloutFailure) -> [RollingHosts.Outcome] {
        let rolling: RollingHosts
        do {
            let lbShells = try installer.shells(inventory.hosts(withRole: .lb))
            let etcdShells = try installer.shells(inventory.hosts(withRole: .etcd))
            let guards = Set(rollout.turns.map(\.rolling.guarding))
            rolling = RollingHosts(
                watch: watch,
                drain: !lbShells.isEmpty && !inventory.hosts(withRole: .controlPlane).isEmpty
                    ? BackendDrain(balancers: lbShells, socat: installer.session.settings.artifact("socat")?.path ?? "socat") : nil,
                handover: !lbShells.isEmpty && inventory.vip != nil ? try VIPHandover(balancers: lbShells, inventory: inventory) : nil,
                etcd: guards.contains(.etcdMember)
                    ? EtcdMembers(shells: etcdShells, etcdctl: installer.session.settings.artifact("etcdctl")?.path ?? "etcdctl") : nil,
                cancel: cancel, progress: progress)
        } catch {
            throw RolloutFailure(host: "-", step: "connecting the rollout", error: error, state: "no host was changed")
        }
        do {
            let apiservers = inventory.hosts(withRole: .controlPlane)
            for line in try rolling.recoverGuards(apiservers: apiservers.map(\.name), ready: { name in
                let host = try host(name)
                try APIServerReady.wait(host, connection: try installer.shells([host])[name]!, timeout: healthTimeout)
            }) { progress(line) }
        } catch {
            throw RolloutFailure(host: "-", step: "taking down guards an interrupted run left", error: error,
                                 state: "no component was changed by this run")
        }
        // A host's turn is unique in a plan (host, guard and components), so the step finds it.
        let turn = { (step: RollingStep) in rollout.turns.first { $0.rolling == step }?.installs ?? [] }
        return try rolling.run(rollout.rollingSteps, noting: { step in
            var notes: [String] = []
            for install in turn(step) {
                try installer.checkLock()
                if case .vrrpRestartedInPlace = install.check {
                    notes += try restartInPlace(on: step.host, handover: rolling.handover)
                    continue
                }
                for line in try installer.install(install.component, on: step.host) { progress("\(step.host): \(install.component.rawValue): \(line)") }
            }
            return notes
        }, ready: { step in
            for install in turn(step) { try awaitReady(install) }
        })
    }

    /// clusterup-vrrpd on the VIP holder, replaced in place (the VIP stays); when the daemon does
    /// not (it refused the new binary, or exited), the usual way: the VIP handed over, the daemon
    /// restarted, its rejoin. Returns the outcome's notes.
    func restartInPlace(on host: String, handover: VIPHandover?) throws -> [String] {
        let component = UpgradeComponent.clusterupVRRPD
        switch try installer.installInPlace(on: host) {
        case .restarted(let lines):
            for line in lines { progress("\(host): \(component.rawValue): \(line)") }
            return ["restarted in place: still Master, the VIP did not move"]
        case .notDone(let reason, let lines):
            for line in lines { progress("\(host): \(component.rawValue): \(line)") }
            progress("\(host): \(component.rawValue): no restart in place (\(reason)): restarting it with a hand-over")
            guard let handover else {
                throw ClusterupError.local("the restart in place of \(component.unit) on \(host) did not happen (\(reason)) and this rollout has no hand-over to fall back to")
            }
            var notes = ["no restart in place (\(reason))"]
            if try handover.holders().contains(host) {
                let moved = try handover.handOver(from: host)
                notes.append("VIP handed over to \(moved.to)" + (moved.forwarded ? " (forwarding what still reached this host)" : ""))
            }
            let restart = try installer.shells([try self.host(host)])[host]!.run("systemctl restart \(shellQuote(component.unit))", sudo: true, timeout: 120)
            guard restart.succeeded else {
                throw ClusterupError.remote("`systemctl restart \(component.unit)` failed: \(restart.stderrText)", host: host,
                                            hint: "see `journalctl -u \(component.unit)` on \(host)")
            }
            let rejoined = try handover.rejoin(host)
            notes.append(rejoined.tookBack ? "VRRP daemon restarted and took the VIP back" : "VRRP daemon restarted; \(rejoined.holder) keeps the VIP")
            return notes
        }
    }

    func host(_ name: String) throws -> InventoryHost {
        guard let host = inventory.hosts.first(where: { $0.name == name }) else {
            throw ClusterupError.badInput("the plan names \(name), which is not in the inventory", at: inventory.path)
        }
        return host
    }

    /// How often a turn asks the restarted component on its host whether it serves: one curl on
    /// one node, for the length of one restart; at deploy's 0.2 s a turn waited 0.1 s on average
    /// after its component was ready.
    static let readyInterval = 0.05

    /// The component serves on the step's host and reports the step's version.
    func awaitReady(_ step: UpgradeStep) throws {
        let host = try host(step.host)
        let shell = try installer.shells([host])[host.name]!
        switch step.component {
        case .kubeAPIServer:
            try APIServerReady.wait(host, connection: shell, timeout: healthTimeout, every: Self.readyInterval)
        case .kubeControllerManager, .kubeScheduler:
            let port = step.component == .kubeControllerManager ? UpgradePlanner.controllerManagerPort : UpgradePlanner.schedulerPort
            let url = "https://127.0.0.1:\(port)/healthz"
            try RemoteWait.run(
                until: "[ \"$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' \(url))\" = 200 ]", every: Self.readyInterval,
                explain: "echo \"last answer: $(curl -sk --max-time 2 -o /dev/null -w 'HTTP %{http_code}' \(url) 2>&1)\"",
                timeout: healthTimeout, on: shell
            ) { detail in
                ClusterupError.remote("\(step.component.rawValue) did not answer /healthz within \(healthTimeout) (\(detail))", host: host.name,
                                      hint: "see `journalctl -u \(step.component.unit)` on \(host.name)")
            }
        case .haproxy:
            // This HAProxy forwards again: every apiserver UP in its own statistics.
            let servers = inventory.hosts(withRole: .controlPlane).map(\.name)
            let local = BackendDrain(balancers: [host.name: shell], socat: installer.session.settings.artifact("socat")?.path ?? "socat")
            let deadline = ContinuousClock.now + healthTimeout
            var last = ""
            while true {
                do {
                    let down = try servers.filter { try local.stats($0)[host.name]?.inRotation != true }
                    if down.isEmpty { break }
                    last = "not UP: \(down.joined(separator: ", "))"
                } catch {
                    last = String(describing: error)
                }
                guard ContinuousClock.now < deadline else {
                    throw ClusterupError.remote("HAProxy does not report every apiserver UP within \(healthTimeout) (\(last))", host: host.name)
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        case .keepalived, .clusterupVRRPD, .etcd:
            // The daemon runs; the hand-over guard's rejoin (VRRP) and the etcd guard's
            // caught-up check (etcd) follow before the next host.
            try RemoteWait.run(until: "systemctl is-active --quiet \(shellQuote(step.component.unit))",
                               explain: "systemctl is-active \(shellQuote(step.component.unit))", timeout: healthTimeout, on: shell) { detail in
                ClusterupError.remote("\(step.component.unit) is not active (\(detail))", host: host.name,
                                      hint: "see `journalctl -u \(step.component.unit)` on \(host.name)")
            }
        }
        try checkVersion(step, host: host)
    }

    /// What the host runs now is the step's target (by release; clusterup-vrrpd by its build).
    func checkVersion(_ step: UpgradeStep, host: InventoryHost) throws {
        guard let to = step.to else { return }
        let installed = try installer.versions(on: host, only: [step.component]).installed[step.component]
        if step.component == .clusterupVRRPD {
            let wanted = to.replacingOccurrences(of: "sha256 ", with: "")
            guard let build = installed?.build, build.lowercased().hasPrefix(wanted.lowercased()) else {
                throw ClusterupError.remote("clusterup-vrrpd reports build \(installed?.build.map { String($0.prefix(12)) } ?? "unknown"), not \(wanted)", host: host.name)
            }
            return
        }
        guard let target = ComponentVersion(parsing: to), let running = installed?.version, running.sameRelease(target) else {
            throw ClusterupError.remote(
                "\(step.component.rawValue) reports '\(installed?.text ?? "nothing")' after its restart, not \(to)", host: host.name,
                hint: "the artifact installed is not release \(to): check artifacts.\(step.component.rawValue) against the version the inventory declares")
        }
    }
}
