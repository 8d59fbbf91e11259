import ClusterupCore
import ClusterupSSH
import Foundation

/// kube-apiserver, kube-controller-manager and kube-scheduler: started on every control-plane
/// host that has none running, and restarted one host at a time when their files changed, each
/// apiserver drained from every running HAProxy first (when the CLI gives a restart guard) and
/// ready (/readyz) before the next host is touched, so the VIP always has a backend
/// (ControlPlaneRestarts decides).
struct ControlPlanePhase: DeployPhase {
    let title = "control plane"
    let afterFailure = AfterFailure.nodesPartWay
    let changesHosts = true
    static let units = ControlPlaneComponent.units.map(\.name)

    func skipReason(_ session: DeploySession) -> String? {
        let hosts = session.inventory.hosts(withRole: .controlPlane)
        if hosts.isEmpty { return "no control-plane hosts" }
        let changes = session.with { $0.changes }
        return hosts.contains { host in Self.units.contains { changes[host.name]?.touches($0) == true } }
            ? nil : "control-plane services and files unchanged"
    }

    func run(_ session: DeploySession) async throws {
        let changes = session.with { $0.changes }
        let timeout = session.options.healthTimeout
        let restartGuard = session.options.apiserverRestartGuard
        let plan = ControlPlaneRestarts.plan(
            controlPlane: session.inventory.hosts(withRole: .controlPlane).map(\.name),
            balancers: session.inventory.hosts(withRole: .lb).map(\.name),
            changes: changes, units: Self.units, skipped: session.skippedHosts, canDrain: restartGuard != nil)
        let operation: @Sendable (InventoryHost, SSHConnection, HostReporter) throws -> Void = { host, connection, reporter in
            reporter.step("starting or restarting")
            for what in try applyUnitChanges(ControlPlaneComponent.units, changes: changes[host.name]!, on: connection) {
                session.note(host.name, what)
            }
            reporter.step("waiting for /readyz")
            try APIServerReady.wait(host, connection: connection, timeout: timeout)
        }
        // Hosts with nothing running yet start together; running ones restart one at a time,
        // each drained from every running HAProxy first and taken back once it answers /readyz.
        try await session.onHosts(plan.fresh.compactMap(session.inventory.host(named:)), phase: self, step: "starting") { try operation($0, $1, $2) }
        for turn in plan.rolling {
            guard let host = session.inventory.host(named: turn.host) else { continue }
            let balancers = try Dictionary(uniqueKeysWithValues: turn.drainThrough.map { ($0, try session.connection($0) as any RemoteShell) })
            try await session.oneHostAtATime([host], phase: self, step: "restarting") { host, connection, reporter in
                guard let restartGuard, !balancers.isEmpty else { return try operation(host, connection, reporter) }
                reporter.step("draining from \(balancers.count) HAProxy")
                session.note(host.name, try restartGuard.drain(host.name, balancers: balancers))
                try operation(host, connection, reporter)
                reporter.step("back in rotation")
                try restartGuard.undrain(host.name, balancers: balancers)
                session.note(host.name, "kube-apiserver back in rotation on \(balancers.keys.sorted().joined(separator: ", "))")
            }
        }
    }
}

/// A host's own kube-apiserver answering /readyz (deploy's restarts, rollouts' undrain).
public enum APIServerReady {
    /// Waits on the node until its own apiserver answers /readyz with 200, asking every `interval` s.
    public static func wait(_ host: InventoryHost, connection: some RemoteShell, timeout: Duration, every interval: Double = 0.2) throws {
        let address = host.privateAddress.contains(":") ? "[\(host.privateAddress)]" : host.privateAddress
        let url = "https://\(address):6443/readyz"
        try RemoteWait.run(
            until: "[ \"$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' \(url))\" = 200 ]", every: interval,
            explain: "echo \"last answer: $(curl -sk --max-time 2 -o /dev/null -w 'HTTP %{http_code}' \(url) 2>&1)\"",
            timeout: timeout, on: connection
        ) { detail in
            ClusterupError.remote("kube-apiserver was not ready within \(timeout) (\(detail))", host: host.name,
                                  hint: "see `journalctl -u kube-apiserver` on \(host.name)")
        }
    }
}
