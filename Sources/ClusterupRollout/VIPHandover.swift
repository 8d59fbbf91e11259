import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupVerify
import Foundation

/// Moves the VIP off an lb host before its HAProxy or VRRP daemon is touched, and lets it rejoin
/// afterwards. The hand-over is a graceful resignation, as `verify failover --mode graceful`
/// makes one: `systemctl stop` of the VRRP daemon (clusterup-vrrpd and keepalived both send an
/// advertisement with priority 0 when stopped), so the backup with the highest priority takes the
/// VIP within Skew_Time instead of after Master_Down_Interval. The stop runs inside `VIPRelease`'s
/// block, as `reset` retires a holder: forwarding on and the host's stale neighbour entry for the
/// VIP dropped first, so what still reaches it reaches the new holder; it returns once the VIP
/// has left, a dwell later (`VIPRelease.dwellTenths(for:)`: 0.6 s at 100 ms adverts), and once the
/// connections its HAProxy accepted have ended (at most 15 s).
/// Blocking: run it on a dedicated thread.
public struct VIPHandover: Sendable {
    /// One shell per lb host, by host name.
    public let balancers: [String: any RemoteShell]
    public let vip: String
    /// The VIP's port (HAProxy's frontend): the hand-over waits for the connections to it to end.
    public let port: Int
    /// `clusterup-vrrpd.service` or `keepalived.service`.
    public let vrrpUnit: String
    /// Who should hold the VIP when every daemon runs (`VIPPlacement.expectedHolder`): nil when
    /// preempt is off (whoever holds it keeps it).
    public let expectedHolder: String?
    /// Longest wait for another host to take the VIP, and for one holder after a rejoin.
    public var limit: Duration
    /// How long the old holder forwards after the VIP left it (`VIPRelease.dwellTenths`).
    public var dwellTenths = VIPRelease.unknownSettingsDwellTenths

    public init(balancers: [String: any RemoteShell], vip: String, port: Int, vrrpUnit: String, expectedHolder: String?, limit: Duration = .seconds(15)) {
        self.balancers = balancers
        self.vip = vip
        self.port = port
        self.vrrpUnit = vrrpUnit
        self.expectedHolder = expectedHolder
        self.limit = limit
    }

    /// The inventory's VIP, VRRP backend and priorities.
    public init(balancers: [String: any RemoteShell], inventory: Inventory, limit: Duration = .seconds(15)) throws(ClusterupError) {
        guard let vip = inventory.vip, let vrrp = inventory.vrrp else {
            throw .badInput("the inventory has no vip/vrrp section: there is no VIP to hand over", at: inventory.path)
        }
        let lbHosts = inventory.hosts(withRole: .lb)
        let expected = VIPPlacement.expectedHolder(
            priorities: inventory.vrrpPriorities,
            addresses: Dictionary(uniqueKeysWithValues: lbHosts.map { ($0.name, $0.privateAddress) }),
            preempt: vrrp.preempt)
        self.init(balancers: balancers, vip: vip.address, port: vip.port, vrrpUnit: ExpectedServices.vrrpUnit(vrrp.backend),
                  expectedHolder: expected, limit: limit)
        dwellTenths = VIPRelease.dwellTenths(for: vrrp)
    }

    /// The lb hosts that have the VIP on an interface now, by name.
    public func holders() throws -> [String] {
        let hosts = balancers.keys.sorted()
        let results = FanOut(concurrency: max(1, hosts.count)).runBlocking(hosts, name: { $0 }) { [balancers, vip] host, _ in
            let shell: any RemoteShell = balancers[host]!
            return try VIPProbe.holds(vip, connection: shell)
        }
        if let failed = results.first(where: { $0.error != nil }), let error = failed.error { throw error }
        return results.filter { $0.value == true }.map(\.host)
    }

    /// How a hand-over went.
    public struct HandedOver: Sendable, Equatable {
        public var from: String
        public var to: String
        /// `from` forwarded what still reached it for the VIP while it moved.
        public var forwarded = false
    }

    /// What `handOver` runs on the host: `VIPRelease`'s block around the daemon's stop when the
    /// host holds the VIP, then the stop again for a host that does not (a no-op after the first).
    public var handOverScript: String {
        var release = VIPRelease(address: vip, port: port)
        release.dwellTenths = dwellTenths
        return release.script(stoppingFirst: [ResetPlan.stop(vrrpUnit)])
            + "systemctl stop \(shellQuote(vrrpUnit))\n"
    }

    /// Stops the VRRP daemon on `host` (it resigns) and returns once another lb host holds the
    /// VIP. When `host` does not hold it, the daemon is stopped all the same (a backup's restart
    /// must not make it preempt mid-step) and `to` names the holder.
    public func handOver(from host: String) throws -> HandedOver {
        guard let shell = balancers[host] else {
            throw ClusterupError.badInput("\(host) is not an lb host: it holds no VIP to hand over", at: "hosts")
        }
        // VIPRelease's waits (the VIP leaving, the dwell, the connections) are at most 32 s.
        let output = try RolloutCommand.run(shell, handOverScript, timeout: 60)
        let forwarded = output.split(separator: "\n").contains("forwarded-during-handover")
        let deadline = ContinuousClock.now + limit
        var seen: [String] = []
        repeat {
            seen = try holders()
            if seen.count == 1 && seen[0] != host { return HandedOver(from: host, to: seen[0], forwarded: forwarded) }
            Thread.sleep(forTimeInterval: 0.02)
        } while ContinuousClock.now < deadline
        throw ClusterupError.remote(
            "no other lb host took \(vip) within \(Int(limit.components.seconds)) s of \(vrrpUnit) stopping on \(host) (holders: \(seen.isEmpty ? "none" : seen.joined(separator: ", ")))",
            host: host, hint: "start \(vrrpUnit) on \(host) again (`systemctl start \(vrrpUnit)`) and check the other lb hosts' VRRP daemons")
    }

    /// How a rejoin went.
    public struct Rejoined: Sendable, Equatable {
        public var host: String
        /// Who holds the VIP once one host does.
        public var holder: String
        /// `host` took the VIP back (preempt and the highest priority).
        public var tookBack: Bool { holder == host }
    }

    /// Starts the VRRP daemon on `host` again and returns once exactly one lb host holds the VIP,
    /// and it is the expected holder when the configuration says who that is.
    public func rejoin(_ host: String) throws -> Rejoined {
        guard let shell = balancers[host] else {
            throw ClusterupError.badInput("\(host) is not an lb host", at: "hosts")
        }
        try RolloutCommand.run(shell, "systemctl start \(shellQuote(vrrpUnit))", timeout: 30)
        let deadline = ContinuousClock.now + limit
        var seen: [String] = []
        repeat {
            seen = try holders()
            if seen.count == 1 && (expectedHolder == nil || seen[0] == expectedHolder) { return Rejoined(host: host, holder: seen[0]) }
            Thread.sleep(forTimeInterval: 0.05)
        } while ContinuousClock.now < deadline
        throw ClusterupError.remote(
            "after \(vrrpUnit) started again on \(host), \(seen.isEmpty ? "no lb host holds \(vip)" : "\(seen.joined(separator: ", ")) hold \(vip)")"
                + (expectedHolder.map { " (expected: \($0))" } ?? ""),
            host: host, hint: "check `clusterup status` and the VRRP daemons' journals")
    }
}
