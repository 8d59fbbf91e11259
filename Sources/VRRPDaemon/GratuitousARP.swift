import VRRP
import CVRRPSys
import Glibc

/// Gratuitous ARP over a packet socket: tells the LAN's caches the VIPs now live at our MAC.
final class GratuitousARP {
    let fd: Int32
    let ifindex: Int32
    let mac: [UInt8]

    init(ifindex: Int32, mac: [UInt8], interface: String) throws(SystemError) {
        fd = try SystemError.check(cvrrp_garp_open(ifindex), "opening the ARP packet socket on \(interface)")
        self.ifindex = ifindex
        self.mac = mac
    }

    deinit { close(fd) }

    func announce(_ address: IPv4Address) throws(SystemError) {
        let rc = mac.withUnsafeBufferPointer { cvrrp_garp_send(fd, ifindex, $0.baseAddress, address.networkOrder) }
        _ = try SystemError.check(rc, "sending gratuitous ARP for \(address)")
    }
}
