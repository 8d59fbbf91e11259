import ClusterupVerify
import Testing

/// What each failure mode runs on the master, and how it is undone.
@Suite struct FaultTests {
    let context = Fault.Context(vrrpUnit: "clusterup-vrrpd.service", vip: "198.51.100.62", prefix: 26,
                                interface: "host0", sshPort: 22, cut: .seconds(4))

    @Test func gracefulStopsTheVRRPServiceAndStartsItAgain() {
        let fault = Fault.make(.graceful, context)
        // Queued, not waited for: the round waits for the effect instead (see `confirm`).
        #expect(fault.inject == "systemctl stop --no-block clusterup-vrrpd.service")
        #expect(fault.restore == "systemctl start clusterup-vrrpd.service")
        #expect(fault.confirm.contains("clusterup-vrrpd.service still has processes"))
        #expect(fault.confirm.contains("198.51.100.62 is still on host0"))
    }

    @Test func crashKillsWithoutResigningRemovesTheVIPAndPreventsTheRestart() throws {
        let inject = Fault.make(.crash, context).inject
        // Every process stopped before any is killed: a child told of its parent's death resigns.
        let kill = try #require(inject.range(of: "kill -STOP $left 2>/dev/null; kill -KILL $left 2>/dev/null"))
        // Only real pids: a 0 (a process of another PID namespace) would make kill -9 0 kill this shell.
        #expect(inject.contains("left=$(unit_pids | grep -x '[1-9][0-9]*')"))
        // Found on cgroup v2 and on v1 hybrids (where only name=systemd knows the unit's processes).
        #expect(inject.contains("\"/sys/fs/cgroup/systemd$cg\""))
        let remove = try #require(inject.range(of: "ip addr del 198.51.100.62/26 dev host0"))
        let stop = try #require(inject.range(of: "systemctl stop --no-block clusterup-vrrpd.service"))
        #expect(kill.lowerBound < remove.lowerBound && remove.lowerBound < stop.lowerBound)
        // A failing kill must not keep the VIP from being removed.
        #expect(inject.split(separator: "\n").contains { $0.hasPrefix("ip addr del") })
    }

    @Test func crashIsInEffectWhenTheDaemonsProcessesAreGoneAndTheVIPIsOffTheNode() {
        let confirm = Fault.make(.crash, context).confirm
        // The processes of the unit's whole control group, not whether `systemctl stop` returned.
        #expect(confirm.contains("find \"$d\" -name cgroup.procs"))
        #expect(confirm.contains("echo \"clusterup-vrrpd.service still has processes: $left\"; exit 1"))
        #expect(confirm.contains("ip -o addr show dev host0 | grep -q ' 198.51.100.62/'"))
        #expect(!confirm.contains("systemctl stop"))
        // The daemon's own processes: an ExecStop= helper systemd runs in the group is not the daemon.
        #expect(confirm.contains("[ \"$(cat /proc/$p/comm 2>/dev/null)\" = clusterup-vrrpd ]"))
    }

    @Test func aNetworkCutIsInEffectWhenItsTableIsInPlace() {
        #expect(Fault.make(.network, context).confirm.contains("nft list table netdev clusterup_verify"))
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
        let fault = Fault.make(.service, context)
        #expect(fault.inject == "systemctl stop --no-block haproxy.service")
        #expect(fault.confirm.contains("haproxy.service still has processes"))
    }
}
