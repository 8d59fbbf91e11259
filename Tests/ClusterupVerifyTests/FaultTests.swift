import ClusterupVerify
import Testing

/// What each failure mode runs on the master, and how it is undone.
@Suite struct FaultTests {
    let context = Fault.Context(vrrpUnit: "clusterup-vrrpd.service", vip: "198.51.100.62", prefix: 26,
                                interface: "host0", sshPort: 22, cut: .seconds(4))

    @Test func gracefulStopsTheVRRPServiceAndStartsItAgain() {
        let fault = Fault.make(.graceful, context)
        #expect(fault.inject == "systemctl stop clusterup-vrrpd.service")
        #expect(fault.restore == "systemctl start clusterup-vrrpd.service")
    }

    @Test func crashKillsWithoutResigningRemovesTheVIPAndPreventsTheRestart() throws {
        let inject = Fault.make(.crash, context).inject
        let kill = try #require(inject.range(of: "grep -x '[1-9][0-9]*' \"$procs\" | xargs -r kill -9"))
        // Found on cgroup v2 and on v1 hybrids (where only name=systemd knows the unit's processes).
        #expect(inject.contains("\"/sys/fs/cgroup/systemd$cg/cgroup.procs\""))
        let remove = try #require(inject.range(of: "ip addr del 198.51.100.62/26 dev host0"))
        let stop = try #require(inject.range(of: "systemctl stop"))
        #expect(kill.lowerBound < remove.lowerBound && remove.lowerBound < stop.lowerBound)
        // A failing kill must not keep the VIP from being removed.
        #expect(inject.split(separator: "\n").contains { $0.hasPrefix("ip addr del") })
    }

    @Test func networkCutArmsItsHealTimerBeforeAddingTheRules() throws {
        let inject = Fault.make(.network, context).inject
        let timer = try #require(inject.range(of: "systemd-run --quiet --unit=clusterup-verify-heal --on-active=4s"))
        let rules = try #require(inject.range(of: "nft -f -"))
        #expect(timer.lowerBound < rules.lowerBound)
        // A failing timer must stop the cut from going in.
        #expect(inject.contains("--on-active=4s /bin/sh -c 'nft delete table netdev clusterup_verify"))
        #expect(inject.contains("|| exit 1"))
    }

    @Test func networkCutKeepsSSHSoTheRoundCanRestore() {
        let inject = Fault.make(.network, Fault.Context(vrrpUnit: "keepalived.service", vip: "198.51.100.62", prefix: 26,
                                                        interface: "host0", sshPort: 2222, cut: .seconds(3))).inject
        #expect(inject.contains("tcp dport 2222 accept"))
        #expect(inject.contains("tcp sport 2222 accept"))
        #expect(inject.contains("table netdev clusterup_verify"))
        #expect(inject.contains("hook egress device \"host0\""))
        // ARP about the VIP is cut both ways; other ARP passes so SSH keeps working.
        #expect(inject.contains("arp daddr ip != 198.51.100.62 accept"))
        #expect(inject.contains("arp saddr ip != 198.51.100.62 accept"))
    }

    @Test func networkRestoreRemovesBothTablesAndTheTimer() {
        let restore = Fault.make(.network, context).restore
        #expect(restore.contains("nft delete table netdev clusterup_verify"))
        #expect(restore.contains("systemctl stop clusterup-verify-heal.timer"))
    }

    @Test func serviceModeStopsHAProxy() {
        #expect(Fault.make(.service, context).inject == "systemctl stop haproxy.service")
    }
}
