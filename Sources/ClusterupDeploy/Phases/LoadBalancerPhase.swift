import ClusterupCore
import ClusterupSSH

/// HAProxy and the VRRP daemon on lb hosts. HAProxy starts or reloads everywhere at once (a
/// reload keeps connections). The VRRP daemon starts everywhere at once (the election needs the
/// peers); restarts go one host at a time, backups before the master, so the VIP moves at most
/// once.
struct LoadBalancerPhase: DeployPhase {
    let title = "load balancer"
    let afterFailure = AfterFailure.nodesPartWay
    let changesHosts = true

    func vrrpUnit(_ session: DeploySession) -> ManagedUnit {
        LoadBalancerComponent.vrrpUnit(session.inventory.vrrp?.backend ?? .clusterupVRRPD)
    }

    func skipReason(_ session: DeploySession) -> String? {
        let hosts = session.inventory.hosts(withRole: .lb)
        if hosts.isEmpty { return "no lb hosts" }
        let changes = session.with { $0.changes }
        let vrrp = vrrpUnit(session).name
        let firewall = LoadBalancerComponent.firewallUnit
        return hosts.contains { host in
            [LoadBalancerComponent.haproxyUnit.name, vrrp, firewall].contains { changes[host.name]?.touches($0) == true }
                || changes[host.name]?.writes(LoadBalancerComponent.firewallRuleset) == true
        }
            ? nil : "HAProxy and VRRP unchanged"
    }

    func run(_ session: DeploySession) async throws {
        let changes = session.with { $0.changes }
        let lbHosts = session.inventory.hosts(withRole: .lb)
        let haproxy = LoadBalancerComponent.haproxyUnit
        let vrrp = vrrpUnit(session)

        let proxyHosts = lbHosts.filter { changes[$0.name]?.touches(haproxy.name) == true }
        try await session.onHosts(proxyHosts, phase: self, step: "haproxy") { host, connection, reporter in
            if let what = try applyUnitChange(haproxy, changes: changes[host.name]!, on: connection) {
                reporter.step(what)
                session.note(host.name, what)
            }
        }

        // The VRRP allow-list (vrrp.firewall) is in place before any VRRP daemon starts or restarts.
        let firewall = LoadBalancerComponent.firewall
        let firewallHosts = lbHosts.filter {
            changes[$0.name]?.touches(firewall.name) == true || changes[$0.name]?.writes(LoadBalancerComponent.firewallRuleset) == true
        }
        let nft = session.settings.artifact("nft")?.path ?? "nft"
        try await session.onHosts(firewallHosts, phase: self, step: "VRRP allow-list") { host, connection, _ in
            if let what = try applyUnitChange(firewall, changes: changes[host.name]!, on: connection) {
                session.note(host.name, what)
            } else {
                // Only the rules changed: the file replaces the table in one transaction.
                _ = try connection.checkedOutput("\(shellQuote(nft)) -f \(shellQuote(LoadBalancerComponent.firewallRuleset))")
                session.note(host.name, "loaded the new VRRP allow-list")
            }
        }

        let vrrpHosts = lbHosts.filter { changes[$0.name]?.touches(vrrp.name) == true }
        let starting = vrrpHosts.filter { host in changes[host.name]!.units.contains(.start(vrrp.name)) }
        try await session.onHosts(starting, phase: self, step: "starting \(vrrp.name)") { host, connection, _ in
            if let what = try applyUnitChange(vrrp, changes: changes[host.name]!, on: connection) { session.note(host.name, what) }
        }
        let restarting = vrrpHosts.filter { !starting.contains($0) }
        if restarting.isEmpty { return }
        let holders = try await vipHolders(session, restarting)
        let ordered = restarting.filter { !holders.contains($0.name) } + restarting.filter { holders.contains($0.name) }
        try await session.oneHostAtATime(ordered, phase: self, step: "updating \(vrrp.name)") { host, connection, reporter in
            if let what = try applyUnitChange(vrrp, changes: changes[host.name]!, on: connection) {
                reporter.step(what)
                session.note(host.name, what)
            }
        }
    }

    func vipHolders(_ session: DeploySession, _ hosts: [InventoryHost]) async throws -> Set<String> {
        guard let vip = session.inventory.vip else { return [] }
        let held = try await session.onHosts(hosts, phase: self, step: "finding the VIP") { _, connection, _ in
            try VIPProbe.holds(vip.address, connection: connection)
        }
        return Set(held.filter(\.value).map(\.key))
    }
}

/// Whether a host has the VIP on one of its interfaces.
public enum VIPProbe {
    public static func holds(_ address: String, connection: some RemoteShell) throws -> Bool {
        let output = try connection.checkedOutput("ip -o addr show", sudo: false)
        return output.split(separator: "\n").contains { line in
            line.split(separator: " ").contains { $0.hasPrefix(address + "/") }
        }
    }
}
