import VRRPConfig
import VRRP
import CVRRPSys
import Glibc

/// What the daemon needs to know about an interface, read with ioctl and rtnetlink.
struct InterfaceInfo {
    var name: String
    var index: Int32
    var mac: [UInt8]
    /// The source of adverts and our side of the tie-break: the first IPv4 address, or for IPv6
    /// the link-local address (RFC 5798 §5.1.2.1, §6.4.3).
    var primaryAddress: IPAddress

    static func read(_ name: String, family: AddressFamily) throws(SystemError) -> InterfaceInfo {
        let index = try SystemError.check(cvrrp_ifindex(name), "looking up interface \(name)")
        var mac = [UInt8](repeating: 0, count: 6)
        let rc = mac.withUnsafeMutableBufferPointer { cvrrp_ifhwaddr(name, $0.baseAddress) }
        _ = try SystemError.check(rc, "reading the hardware address of \(name)")
        let primary: IPAddress
        switch family {
        case .ipv4:
            var raw: UInt32 = 0
            _ = try SystemError.check(cvrrp_ifaddr4(name, &raw), "reading the IPv4 address of \(name) (it needs one)")
            primary = .v4(IPv4Address(networkOrder: raw))
        case .ipv6:
            primary = .v6(try linkLocal(name, index: index))
        }
        return InterfaceInfo(name: name, index: index, mac: mac, primaryAddress: primary)
    }

    /// The link-local address, waiting up to 3 s while it is tentative: an interface that just came
    /// up runs duplicate address detection for about a second, and a tentative address can be
    /// neither bound nor sent from.
    static func linkLocal(_ name: String, index: Int32) throws(SystemError) -> IPv6Address {
        for attempt in 0...30 {
            let addresses = try ipv6Addresses(index, interface: name)
            switch LinkLocalChoice(addresses) {
            case .usable(let a):
                return a
            case .tentative where attempt < 30:
                usleep(100_000)
            case .tentative:
                throw SystemError("the IPv6 link-local address of \(name) is still tentative (duplicate address detection) after 3 s", errno: EADDRNOTAVAIL)
            case .duplicate:
                throw SystemError("the IPv6 link-local address of \(name) failed duplicate address detection; give the interface a unique MAC", errno: EADDRNOTAVAIL)
            case .none:
                throw SystemError("\(name) has no IPv6 link-local address (is IPv6 disabled? check sysctl net.ipv6.conf.\(name).disable_ipv6 and addr_gen_mode)", errno: EADDRNOTAVAIL)
            }
        }
        throw SystemError("reading the IPv6 link-local address of \(name)", errno: EADDRNOTAVAIL)
    }

    static func ipv6Addresses(_ index: Int32, interface: String) throws(SystemError) -> [(address: IPv6Address, flags: UInt32)] {
        let cap = 64
        var raw = [UInt8](repeating: 0, count: 16 * cap)
        var flags = [UInt32](repeating: 0, count: cap)
        let n = raw.withUnsafeMutableBufferPointer { r in
            flags.withUnsafeMutableBufferPointer { f in cvrrp_nl_addrs6(index, r.baseAddress, f.baseAddress, Int32(cap)) }
        }
        let count = Int(try SystemError.check(n, "listing the IPv6 addresses of \(interface)"))
        return (0..<count).map { (IPv6Address(bytes: raw[(16 * $0)..<(16 * $0 + 16)])!, flags[$0]) }
    }

    static func isUp(_ name: String) -> Bool { cvrrp_iflink_up(name) == 1 }
}

/// Which link-local address an IPv6 instance sends from, given the interface's addresses with
/// their IFA_F_* flags: the first one that finished duplicate address detection.
enum LinkLocalChoice: Equatable {
    case usable(IPv6Address)
    /// Only tentative ones (DAD still running): worth waiting for.
    case tentative
    /// Only ones that failed DAD.
    case duplicate
    case none

    static let flagDADFailed: UInt32 = 0x08
    static let flagTentative: UInt32 = 0x40

    init(_ addresses: [(address: IPv6Address, flags: UInt32)]) {
        let linkLocal = addresses.filter { $0.address.isLinkLocal }
        if let good = linkLocal.first(where: { $0.flags & (Self.flagTentative | Self.flagDADFailed) == 0 }) {
            self = .usable(good.address)
        } else if linkLocal.contains(where: { $0.flags & Self.flagDADFailed == 0 }) {
            self = .tentative
        } else if !linkLocal.isEmpty {
            self = .duplicate
        } else {
            self = .none
        }
    }
}

/// Whether an IPv6 source address can be sent from, given the interface's addresses and flags.
enum SourceAddressState: String, Equatable {
    case usable
    /// Duplicate address detection still running (sends from it fail with EINVAL).
    case tentative
    case dadFailed = "dad-failed"
    /// Not on the interface (removed, or the link-local changed with the MAC).
    case missing

    init(_ source: IPv6Address, among addresses: [(address: IPv6Address, flags: UInt32)]) {
        guard let entry = addresses.first(where: { $0.address == source }) else {
            self = .missing
            return
        }
        if entry.flags & LinkLocalChoice.flagDADFailed != 0 {
            self = .dadFailed
        } else if entry.flags & LinkLocalChoice.flagTentative != 0 {
            self = .tentative
        } else {
            self = .usable
        }
    }
}
