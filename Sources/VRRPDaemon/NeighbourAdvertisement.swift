import VRRPConfig
import VRRP

/// The unsolicited Neighbor Advertisement a new IPv6 Master sends for each VIP (RFC 5798 §6.4.2,
/// RFC 4861 §7.2.6): to all nodes, Override set so caches take our MAC at once, Solicited clear
/// (nobody asked), Router clear (a VIP is a host address, not a router announcement).
enum UnsolicitedNeighbourAdvertisement {
    /// ff02::1, all nodes on the link.
    static let destination = IPv6Address(high: 0xFF02_0000_0000_0000, low: 1)
    static let icmpType: UInt8 = 136
    static let overrideFlag: UInt8 = 0x20
    static let ipProtocolICMPv6: UInt8 = 58
    /// Type, code, checksum, flags + reserved, target, one 8-octet target link-layer option.
    static let length = 4 + 4 + 16 + 8

    /// The ICMPv6 message with a zero checksum, which the kernel fills in on a raw ICMPv6 socket.
    static func message(target: IPv6Address, mac: [UInt8]) -> [UInt8] {
        precondition(mac.count == 6, "an Ethernet address has 6 octets")
        var m: [UInt8] = [icmpType, 0, 0, 0, overrideFlag, 0, 0, 0]
        m += target.bytes
        m += [2, 1]  // option Target Link-Layer Address, length 1 (× 8 octets)
        m += mac
        return m
    }

    /// The ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header, as the kernel computes it (for
    /// tests and captures; the daemon leaves it to the kernel).
    static func checksum(_ message: [UInt8], source: IPv6Address, destination: IPv6Address = destination) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(source.bytes)
        sum.add(destination.bytes)
        sum.add([0, 0, UInt8(message.count >> 8), UInt8(message.count & 0xFF), 0, 0, 0, ipProtocolICMPv6])
        sum.add(message)
        return sum.value
    }
}
