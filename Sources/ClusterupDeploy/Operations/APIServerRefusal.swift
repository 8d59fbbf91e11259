/// How `reset` stops a serving kube-apiserver without cutting a client's request: the other lb
/// hosts' HAProxies (outside the inventory a node is retired with) still send it connections until
/// their health checks mark it down, and a TLS exchange under way when it stops ends in an EOF.
/// First the node refuses new connections to the apiserver's port with a TCP reset (nftables):
/// HAProxy's connect fails at once and it redispatches to another apiserver (`option redispatch
/// 1`, haproxy.cfg); then reset waits for the open connections to end (at most `limitTenths`), and
/// only then stops it. The table goes with the rest of reset. Nothing happens without nft or
/// without a running apiserver.
public struct APIServerRefusal: Sendable, Equatable {
    public var port: Int = 6443
    /// Longest wait for open connections to end, in tenths of a second (long-lived watches end at the stop).
    public var limitTenths: Int = 50
    static let table = "inet clusterup_retire"

    public init() {}

    /// Prints `refused-new kube-apiserver` when it ran.
    func script() -> String {
        """
        if [ "$(systemctl is-active kube-apiserver.service 2>/dev/null)" = active ] && command -v nft >/dev/null 2>&1 \\
          && printf '%s\\n' 'table \(Self.table) {' 'chain input {' 'type filter hook input priority -10;' \\
            'tcp dport \(port) tcp flags & (syn | ack) == syn reject with tcp reset' '}' '}' | nft -f - 2>/dev/null; then
          i=0
          while [ -n "$(ss -Htn state established '( sport = :\(port) )' 2>/dev/null)" ] && [ $i -lt \(limitTenths) ]; do i=$((i+1)); sleep 0.1; done
          echo "refused-new kube-apiserver"
        fi

        """
    }

    /// After every unit stopped.
    static let lift = "if command -v nft >/dev/null 2>&1 && nft list table \(table) >/dev/null 2>&1; then nft delete table \(table); fi\n"
}
