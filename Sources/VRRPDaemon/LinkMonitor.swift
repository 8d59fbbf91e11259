import VRRPConfig
import CVRRPSys
import Glibc

/// Link up/down events from rtnetlink (RTNLGRP_LINK), for instances and tracked interfaces, and
/// IPv6 address changes (RTNLGRP_IPV6_IFADDR), for IPv6 instances' link-local source.
final class LinkMonitor {
    let fd: Int32

    init() throws(SystemError) {
        fd = try SystemError.check(cvrrp_nl_link_open(), "subscribing to link events")
    }

    deinit { close(fd) }

    enum Event {
        case link(ifindex: Int32, up: Bool)
        case ipv6Addresses(ifindex: Int32)
    }

    /// Pending events. When the kernel dropped events (ENOBUFS), returns nil: the caller re-reads
    /// every link's state.
    func read() -> [Event]? {
        var events = [cvrrp_link_event](repeating: cvrrp_link_event(), count: 64)
        var all: [Event] = []
        while true {
            let n = events.withUnsafeMutableBufferPointer { cvrrp_nl_link_read(fd, $0.baseAddress, 64) }
            if n < 0 { return nil }
            all += events[0..<Int(n)].map {
                $0.ipv6_address != 0 ? .ipv6Addresses(ifindex: Int32($0.ifindex)) : .link(ifindex: Int32($0.ifindex), up: $0.up != 0)
            }
            if n < 64 { return all }
        }
    }
}
