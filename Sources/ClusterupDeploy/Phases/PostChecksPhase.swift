import ClusterupNodes
import ClusterupCore
import Foundation

/// Proves the result: exactly one host holds the VIP, etcd is healthy over TLS, and every
/// HAProxy sees every kube-apiserver up.
struct PostChecksPhase: DeployPhase {
    let title = "post-deploy checks"
    let afterFailure = AfterFailure.deployed

    func skipReason(_ session: DeploySession) -> String? {
        session.mode.skipReason
    }

    /// The three checks are independent: they run at the same time, and report in this order.
    func run(_ session: DeploySession) async throws {
        async let vip = checkVIP(session)
        async let etcd = checkEtcd(session)
        async let haproxy = checkHAProxy(session)
        let findings = [try await vip, try await etcd, try await haproxy]
        for finding in findings.compactMap({ $0 }) { session.note(nil, finding) }
    }

    func checkVIP(_ session: DeploySession) async throws -> String? {
        guard let vip = session.inventory.vip, !session.inventory.hosts(withRole: .lb).isEmpty else { return nil }
        let holders = try await waitForOneHolder(session, vip: vip.address)
        return "VIP \(vip.address) is held by \(holders.joined(separator: ", "))"
    }

    func checkEtcd(_ session: DeploySession) async throws -> String? {
        let inventory = session.inventory
        let skipped = session.skippedHosts
        let reachable = inventory.hosts(withRole: .etcd).filter { !skipped.contains($0.name) }
        guard let anchor = reachable.first else { return nil }
        let etcdctl = etcdctlPath(session.settings)
        // With hosts skipped, only the reachable members are asked about (a skipped one may be down).
        let endpoints = reachable.count == inventory.hosts(withRole: .etcd).count ? "--cluster"
            : "--endpoints=" + reachable.map { EtcdPeer($0).clientURL }.joined(separator: ",")
        try await session.onHosts([anchor], phase: self, step: "etcd health") { _, connection, _ in
            _ = try connection.checkedOutput(Etcdctl.command(etcdctl, "endpoint health \(endpoints)"), timeout: 30)
        }
        let unchecked = inventory.hosts(withRole: .etcd).count - reachable.count
        return unchecked == 0 ? "etcd: all \(reachable.count) member(s) healthy over TLS"
            : "etcd: \(reachable.count) reachable member(s) healthy over TLS (\(unchecked) skipped, not checked)"
    }

    func checkHAProxy(_ session: DeploySession) async throws -> String? {
        let inventory = session.inventory
        let timeout = session.options.healthTimeout
        // A skipped host's apiserver may be down: only the reachable ones must be up.
        let skipped = session.skippedHosts
        let backends = inventory.hosts(withRole: .controlPlane).map(\.name).filter { !skipped.contains($0) }
        guard !backends.isEmpty else { return nil }
        try await session.onHosts(inventory.hosts(withRole: .lb), phase: self, step: "haproxy backends") { host, connection, _ in
            let deadline = ContinuousClock.now + timeout
            var down: [String] = backends
            while ContinuousClock.now < deadline {
                let csv = try connection.run(
                    HAProxyNode.statsCSVCommand, sudo: false, timeout: 10)
                let status = HAProxyStats.backendStatus(csv.stdoutText)
                down = backends.filter { status[$0] != "UP" }
                if down.isEmpty { return }
                Thread.sleep(forTimeInterval: 0.5)
            }
            throw ClusterupError.remote(
                "HAProxy reports kube-apiserver backends not up: \(down.joined(separator: ", "))", host: host.name,
                hint: "check those apiservers' /readyz and `journalctl -u haproxy`")
        }
        return "HAProxy: \(backends.count) apiserver backend(s) up on every \(skipped.isEmpty ? "" : "reachable ")lb host"
    }

    func waitForOneHolder(_ session: DeploySession, vip: String) async throws -> [String] {
        let skipped = session.skippedHosts
        let lbHosts = session.inventory.hosts(withRole: .lb).filter { !skipped.contains($0.name) }
        let deadline = ContinuousClock.now + .seconds(15)
        var holders: [String] = []
        while ContinuousClock.now < deadline {
            let held = try await session.onHosts(lbHosts, phase: self, step: "VIP holder") { _, connection, _ in
                try VIPProbe.holds(vip, connection: connection)
            }
            holders = lbHosts.map(\.name).filter { held[$0] == true }
            if holders.count == 1 { return holders }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw DeployFailure(
            phase: title,
            failures: [("vip", holders.isEmpty ? "no lb host holds \(vip)" : "\(holders.count) hosts hold \(vip) (split brain): \(holders.joined(separator: ", "))")],
            state: "Every component is deployed; the VIP is not healthy. Check `clusterup status` and the VRRP daemon's journal.")
    }
}
