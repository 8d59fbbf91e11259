import ClusterupCore
import Foundation

/// `clusterup check` on every host; refuses to go on when any finding is an error.
struct PreflightPhase: DeployPhase {
    let title = "preflight"
    let afterFailure = AfterFailure.nodesUnchanged

    func run(_ session: DeploySession) async throws {
        let lbPort = session.inventory.vip?.port ?? 8443
        let gathered = try await session.onHosts(session.inventory.hosts, phase: self, step: "probing") { host, connection, _ in
            let check = try HostCheck.run(host, connection: connection, lbPort: lbPort)
            return (check.facts, check.findings)
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
        if NodeTLSCheck.needed(session.inventory), let url = session.inventory.vrrp?.track.http {
            let lbHosts = session.inventory.hosts(withRole: .lb)
            let answers = try await session.onHosts(lbHosts, phase: self, step: "libssl for https checks") { _, connection, _ in
                try connection.checkedOutput(NodeTLSCheck.probe, sudo: false)
            }
            for host in lbHosts {
                if let answer = answers[host.name], let problem = NodeTLSCheck.problem(answer, url: url) {
                    session.note(host.name, "error: libssl: \(problem)")
                    failures.append((host.name, "libssl: \(problem)"))
                }
            }
        }
        if !failures.isEmpty {
            throw failure(failures)
        }
    }
}

/// What `clusterup check` reports for one host, and deploy's preflight judges.
public struct HostCheck: Sendable {
    public var facts: HostFacts
    public var clockSkewSeconds: Double
    public var findings: [Preflight.Finding]

    public var worst: Preflight.Finding.Severity { findings.map(\.severity).max() ?? .ok }

    /// Runs the probe over `connection` (blocking) and judges it against the host's roles.
    public static func run(_ host: InventoryHost, connection: some RemoteShell, lbPort: Int) throws -> HostCheck {
        let facts = try HostFacts.parse(try connection.checkedOutput(HostFacts.probeScript, sudo: true), host: host.name)
        // The clock alone, so the round trip bounds the error: skew is read against its midpoint.
        let before = Date()
        let clock = try connection.checkedOutput("date +%s%N", sudo: false)
        let after = Date()
        guard let remote = Double(clock.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ClusterupError.remote("`date +%s%N` printed '\(clock)'", host: host.name, hint: "clusterup needs GNU date on the host")
        }
        let roundTrip = after.timeIntervalSince(before)
        let skew = remote / 1e9 - (before.timeIntervalSince1970 + roundTrip / 2)
        // The host read its clock somewhere inside the round trip: only skew beyond half of it is
        // certain, so a slow or loaded link is not mistaken for a wrong clock.
        let certain = max(0, abs(skew) - roundTrip / 2)
        let preflight = Preflight(ports: Preflight.ports(
            etcd: host.roles.contains(.etcd), controlPlane: host.roles.contains(.controlPlane),
            lb: host.roles.contains(.lb), lbPort: lbPort))
        return HostCheck(facts: facts, clockSkewSeconds: skew,
                         findings: preflight.evaluate(facts, clockSkewSeconds: skew < 0 ? -certain : certain))
    }
}
