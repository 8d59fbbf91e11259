import VRRP
import CVRRPSys

/// What the daemon needs to know about an interface, read with ioctl.
struct InterfaceInfo {
    var name: String
    var index: Int32
    var mac: [UInt8]
    var primaryAddress: IPv4Address

    static func read(_ name: String) throws(SystemError) -> InterfaceInfo {
        let index = try SystemError.check(cvrrp_ifindex(name), "looking up interface \(name)")
        var mac = [UInt8](repeating: 0, count: 6)
        let rc = mac.withUnsafeMutableBufferPointer { cvrrp_ifhwaddr(name, $0.baseAddress) }
        _ = try SystemError.check(rc, "reading the hardware address of \(name)")
        var raw: UInt32 = 0
        _ = try SystemError.check(cvrrp_ifaddr4(name, &raw), "reading the IPv4 address of \(name) (it needs one)")
        return InterfaceInfo(name: name, index: index, mac: mac, primaryAddress: IPv4Address(networkOrder: raw))
    }

    static func isUp(_ name: String) -> Bool { cvrrp_iflink_up(name) == 1 }
}
