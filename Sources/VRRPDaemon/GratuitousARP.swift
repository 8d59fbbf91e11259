import VRRPConfig
import VRRP
import CVRRPSys
import Glibc

/// Tells the LAN's caches the VIPs now live at our MAC: gratuitous ARP for IPv4, unsolicited
/// neighbour advertisements for IPv6, on the same schedule (the `garp` settings).
enum VIPAnnouncer {
    case arp(GratuitousARP)
    case neighbourAdvertisement(NeighbourAdvertiser)

    init(family: AddressFamily, interface: InterfaceInfo) throws(SystemError) {
        switch family {
        case .ipv4: self = .arp(try GratuitousARP(ifindex: interface.index, mac: interface.mac, interface: interface.name))
        case .ipv6: self = .neighbourAdvertisement(try NeighbourAdvertiser(interface: interface))
        }
    }

    func announce(_ address: IPAddress) throws(SystemError) {
        switch (self, address) {
        case (.arp(let arp), .v4(let a)): try arp.announce(a)
        case (.neighbourAdvertisement(let na), .v6(let a)): try na.announce(a)
        default: break  // one family per instance (configuration)
        }
    }
}

/// Gratuitous ARP over a packet socket.
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

/// Unsolicited neighbour advertisements over a raw ICMPv6 socket (the kernel sets the checksum).
final class NeighbourAdvertiser {
    let fd: Int32
    let ifindex: Int32
    let mac: [UInt8]

    init(interface: InterfaceInfo) throws(SystemError) {
        fd = try SystemError.check(cvrrp_na_open(interface.name, interface.index),
                                   "opening the ICMPv6 socket for neighbour advertisements on \(interface.name)")
        ifindex = interface.index
        mac = interface.mac
    }

    deinit { close(fd) }

    func announce(_ address: IPv6Address) throws(SystemError) {
        let message = UnsolicitedNeighbourAdvertisement.message(target: address, mac: mac)
        let rc = message.withUnsafeBytes { cvrrp_na_send(fd, ifindex, $0.baseAddress, $0.count) }
        _ = try SystemError.check(rc, "sending a neighbour advertisement for \(address)")
    }
}
