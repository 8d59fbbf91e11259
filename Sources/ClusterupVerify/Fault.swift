import ClusterupCore

/// The shell commands that break the master in one mode and put it back. Pure: what runs where is
/// decided here, and tests read it without a node.
public struct Fault: Sendable, Equatable {
    public var mode: FailureMode
    /// Runs on the master as root; must return quickly.
    public var inject: String
    /// Undoes `inject`; safe to run when it was never injected, or twice.
    public var restore: String
    /// Exits 0 once the fault is in effect; otherwise prints what is still missing. The round
    /// polls it after `inject`, within the injection time limit: a fault is judged by its effect
    /// (the daemon's processes gone, the VIP off the node, the cut in place), not by whether a
    /// command such as `systemctl stop` returned.
    public var confirm: String

    /// nft tables the network mode adds; also removed on restore.
    public static let table = "clusterup_verify"
    /// The transient timer unit that removes the tables even when this machine is gone.
    public static let healUnit = "clusterup-verify-heal"

    public struct Context: Sendable, Equatable {
        public var vrrpUnit: String
        public var vip: String
        public var prefix: Int
        public var interface: String
        public var sshPort: Int
        /// How long the network cut lasts before the node heals itself.
        public var cut: Duration

        public init(vrrpUnit: String, vip: String, prefix: Int, interface: String, sshPort: Int, cut: Duration) {
            self.vrrpUnit = vrrpUnit
            self.vip = vip
            self.prefix = prefix
            self.interface = interface
            self.sshPort = sshPort
            self.cut = cut
        }
    }

    public static func make(_ mode: FailureMode, _ context: Context) -> Fault {
        let unit = shellQuote(context.vrrpUnit)
        let vipGone = vipOff(context)
        switch mode {
        case .graceful:
            // --no-block: the stop is done when the daemon has resigned and exited, which
            // `confirm` sees; a stop job left "deactivating" must not hold the round.
            return Fault(mode: mode, inject: "systemctl stop --no-block \(unit)", restore: "systemctl start \(unit)",
                         confirm: processesGone(context.vrrpUnit) + "\n" + vipGone)
        case .crash:
            // SIGKILL to every process of the unit's cgroup (v2, or v1's name=systemd; keepalived
            // has children) gives the daemon no chance to resign, repeated while any of the
            // daemon's own processes is left. All are stopped before any is killed: keepalived's
            // VRRP process asks for SIGTERM when its parent dies, and with its parent killed a
            // moment before it, it resigned (priority 0, takeover in 3 ms): a graceful round
            // labelled crash (keepalived 2.2.7 in the lab). A stopped process handles no signal.
            // `systemctl kill` is only the fallback: in a container it can fail on the cgroup. A
            // cgroup file lists processes of other PID namespaces as 0, and `kill -9 0` would kill
            // this very shell: only real pids are killed. The VIP left on the interface would
            // still answer, as a dead host would not, so it goes too. The stop job queued right
            // after cancels Restart= so the daemon stays dead until restore; --no-block because
            // after a SIGKILL that job can stay "deactivating" for many seconds (keepalived 2.3.3
            // on Debian 13: 20 s; an ExecStop= does it too) though the daemon is gone: `confirm`
            // checks what the crash needs instead.
            return Fault(
                mode: mode,
                inject: """
                    \(unitPIDs(context.vrrpUnit))
                    \(daemonPIDs(context.vrrpUnit))
                    if unit_pids >/dev/null; then
                      i=0
                      while [ $i -lt 20 ]; do
                        left=$(unit_pids | grep -x '[1-9][0-9]*')
                        [ -n "$left" ] || break
                        kill -STOP $left 2>/dev/null; kill -KILL $left 2>/dev/null
                        i=$((i + 1)); sleep 0.05
                        [ -n "$(daemon_pids)" ] || break
                      done
                    else
                      systemctl kill --signal=SIGKILL \(unit)
                    fi
                    ip addr del \(context.vip)/\(context.prefix) dev \(shellQuote(context.interface)) 2>/dev/null
                    systemctl stop --no-block \(unit)
                    """,
                restore: "systemctl start \(unit)",
                confirm: processesGone(context.vrrpUnit) + "\n" + vipGone)
        case .network:
            return Fault(mode: mode, inject: networkCut(context), restore: networkRestore,
                         confirm: "nft list table netdev \(table) >/dev/null 2>&1 || { echo 'the nft table \(table) is not in place'; exit 1; }")
        case .service:
            return Fault(mode: mode, inject: "systemctl stop --no-block haproxy.service", restore: "systemctl start haproxy.service",
                         confirm: processesGone("haproxy.service"))
        }
    }

    /// A shell function printing the pids in the unit's control group and those below it (v2, or
    /// v1's name=systemd hierarchy); it fails when the unit has no control group (not running).
    static func unitPIDs(_ unit: String) -> String {
        """
        unit_pids() {
          cg=$(systemctl show -p ControlGroup --value \(shellQuote(unit)) 2>/dev/null)
          [ -n "$cg" ] || return 1
          for d in "/sys/fs/cgroup$cg" "/sys/fs/cgroup/systemd$cg"; do
            if [ -r "$d/cgroup.procs" ]; then find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; return 0; fi
          done
          return 1
        }
        """
    }

    /// A shell function (after `unitPIDs`) printing the pids of the unit's control group that are
    /// the daemon itself, by name (`keepalived`, `clusterup-vrrpd`, `haproxy`): a helper such as an
    /// ExecStop= command that systemd runs there once the daemon died is not the daemon.
    static func daemonPIDs(_ unit: String) -> String {
        let name = String((unit.hasSuffix(".service") ? String(unit.dropLast(".service".count)) : unit).prefix(15))
        return """
            daemon_pids() {
              for p in $(unit_pids | grep -x '[1-9][0-9]*'); do
                [ "$(cat /proc/$p/comm 2>/dev/null)" = \(shellQuote(name)) ] && echo "$p"
              done
            }
            """
    }

    /// Fails, naming them, while any of the daemon's processes is left in the unit's control group.
    static func processesGone(_ unit: String) -> String {
        """
        \(unitPIDs(unit))
        \(daemonPIDs(unit))
        left=$(daemon_pids | tr '\\n' ' ' | sed 's/ *$//')
        if [ -n "$left" ]; then echo "\(unit) still has processes: $left"; exit 1; fi
        """
    }

    /// Fails while the VIP is still on the interface (it would answer as a dead host would not).
    static func vipOff(_ context: Context) -> String {
        """
        if ip -o addr show dev \(shellQuote(context.interface)) | grep -q ' \(context.vip)/'; then echo "\(context.vip) is still on \(context.interface)"; exit 1; fi
        """
    }

    /// The heal timer is armed BEFORE the rules go in, so a lost SSH connection cannot leave the
    /// node cut off. The rules sit on the VRRP interface's netdev ingress and egress hooks, which
    /// also see what the daemon sends on packet sockets (gratuitous ARP), unlike the inet and arp
    /// families (Linux 5.16 or later for egress). SSH stays open so the round can watch and
    /// restore, and ARP not about the VIP passes so that SSH keeps its neighbours.
    static func networkCut(_ context: Context) -> String {
        let seconds = max(1, Int(context.cut.components.seconds))
        let device = "\"\(context.interface)\""
        let ruleset = """
            table netdev \(table) {
              chain ingress { type filter hook ingress device \(device) priority -300; policy drop; tcp dport \(context.sshPort) accept; ether type arp arp daddr ip != \(context.vip) accept; }
              chain egress { type filter hook egress device \(device) priority -300; policy drop; tcp sport \(context.sshPort) accept; ether type arp arp saddr ip != \(context.vip) accept; }
            }
            """
        return """
            systemctl stop \(healUnit).timer \(healUnit).service 2>/dev/null; systemctl reset-failed \(healUnit).timer \(healUnit).service 2>/dev/null
            systemd-run --quiet --unit=\(healUnit) --on-active=\(seconds)s /bin/sh -c \(shellQuote(deleteTables)) || exit 1
            printf '%s\\n' \(shellQuote(ruleset)) | nft -f -
            """
    }

    static let deleteTables = "nft delete table netdev \(table) 2>/dev/null; true"

    static var networkRestore: String {
        "\(deleteTables); systemctl stop \(healUnit).timer 2>/dev/null; true"
    }
}
