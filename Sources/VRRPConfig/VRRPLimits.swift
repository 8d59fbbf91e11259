// No Foundation: clusterup-vrrpd links this, and the static daemon carries no Foundation.
import VRRP

/// The limits of a VRRP configuration, one rule each, applied by clusterup-vrrpd to its own
/// configuration file and by the inventory reader to the `vrrp` section: an inventory that
/// passes `inventory check` renders a configuration the daemon accepts.
public enum VRRPLimits {
    /// Gratuitous ARPs (or unsolicited NAs) per VIP per round: a new Master announces at least once.
    public static let garpRepeat: ClosedRange<Int> = 1...100
    /// A check's weight; keepalived's range. 0 means a failing check faults the instance.
    public static let checkWeight: ClosedRange<Int> = -254...254
    /// Successes to become good, failures to become failing.
    public static let checkRiseFall: ClosedRange<Int> = 1...100
    /// The shortest check interval and timeout.
    public static let checkMinimumMilliseconds = 10

    /// A Linux interface name as the kernel takes it (dev_valid_name): 1 to 15 bytes, not `.` or
    /// `..`, no `/`, `:` (alias labels such as eth0:1 are not interfaces) or whitespace.
    public static func isInterfaceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...15).contains(bytes.count), name != ".", name != ".." else { return false }
        return !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7F }
    }

    /// The URL of an http(s) health check clusterup-vrrpd runs itself: `http(s)://IPv4-or-localhost[:port][/path]`.
    /// No DNS: a check must not depend on a resolver being up (keepalived's curl script resolves).
    public static func checkURL(_ url: String) -> CheckURL? {
        let tls: Bool
        var rest: Substring
        if url.hasPrefix("http://") {
            tls = false
            rest = url.dropFirst(7)
        } else if url.hasPrefix("https://") {
            tls = true
            rest = url.dropFirst(8)
        } else {
            return nil
        }
        let hostPort = rest.prefix(while: { $0 != "/" })
        rest = rest.dropFirst(hostPort.count)
        let path = rest.isEmpty ? "/" : String(rest)
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        var host = hostPort
        var port: UInt16 = tls ? 443 : 80
        if let colon = hostPort.firstIndex(of: ":") {
            host = hostPort[..<colon]
            guard let p = UInt16(hostPort[hostPort.index(after: colon)...]), p > 0 else { return nil }
            port = p
        }
        let address: IPv4Address
        if host == "localhost" {
            address = IPv4Address(127, 0, 0, 1)
        } else if let a = IPv4Address(String(host)) {
            address = a
        } else {
            return nil
        }
        return CheckURL(tls: tls, address: address, port: port, host: String(hostPort), path: path)
    }
}

/// A parsed health-check URL.
public struct CheckURL: Sendable, Equatable {
    public var tls: Bool
    public var address: IPv4Address
    public var port: UInt16
    /// As written (for the Host header).
    public var host: String
    public var path: String
}
