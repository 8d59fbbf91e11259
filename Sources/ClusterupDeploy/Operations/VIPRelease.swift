import ClusterupCore

/// How `reset` retires the host that holds the VIP without a client noticing: the VIP is handed
/// over before anything else stops, as `verify failover --mode graceful` and the rollout's
/// `VIPHandover` do (`systemctl stop` of the VRRP daemon: an advert with priority 0, the backup
/// takes the VIP within Skew_Time). What still reaches this host for the VIP afterwards (a TCP
/// SYN sent in the milliseconds before the new holder's gratuitous ARP reached the client) would
/// be dropped, its connect then waiting a full second for the retransmission; for those seconds the
/// host forwards it to the new holder instead (IPv4 forwarding on, restored afterwards), and its
/// HAProxy stays up until the connections it accepted have ended.
///
/// Forwarding needs this host's neighbour entry for the VIP, and it forgets that entry before it
/// lets the VIP go: a host that took the VIP over from another holder (every retirement after the
/// first in a replacement) kept the entry it had while that other host held it, pointing at that
/// host's MAC, and the kernel does not drop it while the address is local (a small neighbour table
/// is never garbage-collected). Forwarded through it, a SYN went to the host that held the VIP
/// before, not to the new holder, and was lost (one connect in about five runs of
/// bench/replace). Without the entry, a forwarded SYN waits in the kernel's queue for an address
/// being resolved until the new holder's gratuitous ARP (or its ARP reply) names it, and goes there.
/// Reset of a host that does not hold the VIP runs none of this. The rollout's `VIPHandover`
/// (`upgrade apply`'s turn on the holder's load balancer) hands the VIP over with this same block.
public struct VIPRelease: Sendable, Equatable {
    public var address: String
    public var port: Int
    /// How long the old holder keeps forwarding after the VIP left it, in tenths of a second
    /// (`dwellTenths(for:)`, or `unknownSettingsDwellTenths` when the VRRP settings are not known).
    public var dwellTenths = Self.unknownSettingsDwellTenths
    /// 2 s: the backup's Skew_Time at 1 s VRRPv2/v3 adverts plus the margin, with room to spare.
    public static let unknownSettingsDwellTenths = 20
    /// Longest wait for the VIP to leave, and for the connections through it to end, in tenths of a second.
    public var limitTenths: Int = 150
    /// The switch for IPv4 forwarding (a scratch file in tests).
    public var forwarding = "/proc/sys/net/ipv4/ip_forward"

    static let vrrpUnits: Set<String> = ["clusterup-vrrpd.service", "keepalived.service"]

    public init(address: String, port: Int, vrrp: VRRPSettings? = nil) {
        self.address = address
        self.port = port
        if let vrrp { dwellTenths = Self.dwellTenths(for: vrrp) }
    }

    /// The dwell covers the time from the VIP leaving this host until clients send to the new
    /// holder: the backup takes over after its Skew_Time — at most one advert interval in VRRPv3
    /// (RFC 5798: (256 − priority) × interval / 256), at most 1 s in VRRPv2 (RFC 3768:
    /// (256 − priority) / 256 s) — and then sends its gratuitous ARP; 0.5 s more for the ARP to be
    /// sent, delivered and applied under load. 100 ms adverts: 0.6 s (a fixed 2 s made an upgrade's
    /// turn on the VIP holder 5.6× its restart floor); 1 s adverts: 1.5 s.
    public static func dwellTenths(for vrrp: VRRPSettings) -> Int {
        let interval = vrrp.advertInterval.components
        let intervalMs = Int(interval.seconds) * 1000 + Int(interval.attoseconds / 1_000_000_000_000_000)
        let skewMs = vrrp.version == 2 ? max(intervalMs, 1000) : intervalMs
        return (skewMs + 500 + 99) / 100
    }

    /// Drops this host's neighbour entry for `address` (any state but permanent), as iproute2's
    /// `ip neigh flush` does; for IPv4 and IPv6 alike.
    static func forgetNeighbour(_ address: String) -> String {
        "ip neigh flush to \(shellQuote(address)) 2>/dev/null || true\n"
    }

    /// The script's block: on the holder, forwarding on, its neighbour entry for the VIP dropped,
    /// `stops` (the VRRP daemons' stop lines),
    /// the wait for the VIP to leave, the dwell, the wait for connections to end, forwarding back.
    /// Prints `handed-over ADDRESS` when it ran, after `forwarded-during-handover` when forwarding
    /// could be switched on (a container without a writable /proc/sys/net cannot).
    public func script(stoppingFirst stops: [String]) -> String {
        let held = "ip -o addr show 2>/dev/null | grep -qF \(shellQuote(" \(address)/"))"
        let source = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        let sessions = "[ -n \"$(ss -Htn state established src \(shellQuote(source)) 2>/dev/null)\" ]"
        return """
        if \(held); then
          forward=$(cat \(shellQuote(forwarding)) 2>/dev/null || echo 0)
          forwarding=0
          if echo 1 > \(shellQuote(forwarding)) 2>/dev/null; then forwarding=1; fi
          \(Self.forgetNeighbour(address))\(stops.joined())  i=0
          while \(held) && [ $i -lt \(limitTenths) ]; do i=$((i+1)); sleep 0.1; done
          sleep \(dwellTenths / 10).\(dwellTenths % 10)
          i=0
          while \(sessions) && [ $i -lt \(limitTenths) ]; do i=$((i+1)); sleep 0.1; done
          if [ $forwarding = 1 ]; then echo "$forward" > \(shellQuote(forwarding)); echo "forwarded-during-handover"; fi
          echo "handed-over \(address)"
        fi

        """
    }
}
