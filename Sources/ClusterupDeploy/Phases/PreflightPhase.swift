import ClusterupCore
import Foundation

/// `clusterup check` on every host; refuses to go on when any finding is an error.
struct PreflightPhase: DeployPhase {
    let title = "preflight"

    func run(_ session: DeploySession) async throws {
        let lbPort = session.inventory.vip?.port ?? 8443
        let gathered = try await session.onHosts(session.inventory.hosts, phase: title, step: "probing") { host, connection, _ in
            try PreflightPhase.gather(host, connection: connection, lbPort: lbPort)
        }
        var failures: [(host: String, error: String)] = []
        for host in session.inventory.hosts {
            guard let (facts, findings) = gathered[host.name] else { continue }
            session.with { $0.facts[host.name] = facts }
            for finding in findings where finding.severity != .ok {
                session.note(host.name, "\(finding.severity.rawValue): \(finding.check): \(finding.detail)")
                if finding.severity == .error { failures.append((host.name, "\(finding.check): \(finding.detail)")) }
            }
        }
        if !failures.isEmpty {
            throw DeployFailure(phase: title, failures: failures, state: session.stateAfterFailure(in: title))
        }
    }

    /// Runs the probe and judges it; shared with `clusterup check`.
    static func gather(_ host: ClusterupCore.Host, connection: some RemoteShell, lbPort: Int) throws -> (HostFacts, [Preflight.Finding]) {
        let before = Date()
        let output = try connection.checkedOutput(HostFacts.probeScript, sudo: true)
        let after = Date()
        let facts = try HostFacts.parse(output, host: host.name)
        let midpoint = before.timeIntervalSince1970 + after.timeIntervalSince(before) / 2
        let skew = Double(facts.clockNanoseconds) / 1e9 - midpoint
        let preflight = Preflight(ports: Preflight.ports(
            etcd: host.roles.contains(.etcd), controlPlane: host.roles.contains(.controlPlane),
            lb: host.roles.contains(.lb), lbPort: lbPort))
        return (facts, preflight.evaluate(facts, clockSkewSeconds: skew))
    }
}
