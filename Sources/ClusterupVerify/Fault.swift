import ClusterupCore

/// The shell commands that break the master in one mode and put it back. Pure: what runs where is
/// decided here, and tests read it without a node.
public struct Fault: Sendable, Equatable {
    public var mode: FailureMode
    /// Runs on the master as root; must return quickly.
    public var inject: String
    /// Undoes `inject`; safe to run when it was never injected, or twice.
    public var restore: String

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
        switch mode {
        case .graceful:
            return Fault(mode: mode, inject: "systemctl stop \(unit)", restore: "systemctl start \(unit)")
        case .crash:
            // SIGKILL to every process of the unit's cgroup (v2, or v1's name=systemd; keepalived
            // has children) gives the daemon no chance to resign. `systemctl kill` is only the
            // fallback: in a container it can fail on the cgroup. A cgroup file lists processes of
            // other PID namespaces as 0, and `kill -9 0` would kill this very shell: only real
            // pids pass. The VIP left on the interface would still answer, as a dead host would
            // not, so it goes too. `stop` right after cancels Restart= (RestartSec=1s) so the
            // daemon stays dead until restore.
            return Fault(
                mode: mode,
                inject: """
                    cg=$(systemctl show -p ControlGroup --value \(unit))
                    procs=""
                    for f in "/sys/fs/cgroup$cg/cgroup.procs" "/sys/fs/cgroup/systemd$cg/cgroup.procs"; do
                      if [ -n "$cg" ] && [ -r "$f" ]; then procs=$f; break; fi
                    done
                    if [ -n "$procs" ]; then grep -x '[1-9][0-9]*' "$procs" | xargs -r kill -9; else systemctl kill --signal=SIGKILL \(unit); fi
                    ip addr del \(context.vip)/\(context.prefix) dev \(shellQuote(context.interface)) 2>/dev/null
                    systemctl stop \(unit)
                    """,
                restore: "systemctl start \(unit)")
        case .network:
            return Fault(mode: mode, inject: networkCut(context), restore: networkRestore)
        case .service:
            return Fault(mode: mode, inject: "systemctl stop haproxy.service", restore: "systemctl start haproxy.service")
        }
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
