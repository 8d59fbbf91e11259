import ClusterupCore
import Foundation

/// clusterup-vrrpd loads libssl at run time for https health checks. Whether a node has it is a
/// fact of the node, not of the machine that renders the configuration, so deploy asks each lb
/// host before it uploads anything (the daemon would refuse the file at start-up, in the journal).
enum NodeTLSCheck {
    /// Whether the inventory gives clusterup-vrrpd an https check.
    static func needed(_ inventory: Inventory) -> Bool {
        guard let vrrp = inventory.vrrp, vrrp.backend == .clusterupVRRPD else { return false }
        return vrrp.track.http?.lowercased().hasPrefix("https://") == true
    }

    /// Prints `libssl3` when the dynamic loader knows libssl.so.3 (what the daemon dlopens).
    /// ldconfig lives in /sbin, outside a plain user's PATH on Debian.
    static let probe = "if PATH=$PATH:/sbin:/usr/sbin ldconfig -p 2>/dev/null | grep -q 'libssl\\.so\\.3 '; then echo libssl3; else echo missing; fi"

    /// The finding for one host from the probe's output; nil when libssl is there.
    static func problem(_ output: String, url: String) -> String? {
        output.trimmingCharacters(in: .whitespacesAndNewlines) == "libssl3" ? nil
            : "vrrp.track.http is \(url), and clusterup-vrrpd's https checks need libssl3 on this host: apt install libssl3 (Debian 13: libssl3t64), or use an http:// check"
    }
}
