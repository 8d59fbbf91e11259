import CVRRPSys
import Glibc

/// Link up/down events from rtnetlink (RTNLGRP_LINK), for tracked interfaces.
final class LinkMonitor {
    let fd: Int32

    init() throws(SystemError) {
        fd = try SystemError.check(cvrrp_nl_link_open(), "subscribing to link events")
    }

    deinit { close(fd) }

    /// Pending events as (ifindex, up). When the kernel dropped events (ENOBUFS), returns nil:
    /// the caller re-reads every tracked link's state.
    func read() -> [(ifindex: Int32, up: Bool)]? {
        var events = [cvrrp_link_event](repeating: cvrrp_link_event(), count: 64)
        var all: [(ifindex: Int32, up: Bool)] = []
        while true {
            let n = events.withUnsafeMutableBufferPointer { cvrrp_nl_link_read(fd, $0.baseAddress, 64) }
            if n < 0 { return nil }
            all += events[0..<Int(n)].map { (Int32($0.ifindex), $0.up != 0) }
            if n < 64 { return all }
        }
    }
}
