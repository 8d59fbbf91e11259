import VRRPConfig
import VRRP
import CVRRPSys

/// Adds and removes VIPs over rtnetlink (RTM_NEWADDR / RTM_DELADDR), waiting for the kernel's
/// ack. IPv6 VIPs are added with IFA_F_NODAD (netlink.c), as keepalived does: after takeover the
/// VIP must answer at once, not after a second of duplicate address detection, and during a
/// split brain DAD would mark the VIP "dadfailed" for good. VRRP's election is the duplicate check.
enum VirtualAddresses {
    static func add(_ vip: VirtualAddress, ifindex: Int32, interface: String) throws(SystemError) {
        let rc = vip.address.bytes.withUnsafeBufferPointer {
            cvrrp_nl_addr(1, ifindex, vip.address.systemFamily, $0.baseAddress, Int32(vip.prefixLength))
        }
        _ = try SystemError.check(rc, "adding \(vip) to \(interface)")
    }

    static func remove(_ vip: VirtualAddress, ifindex: Int32, interface: String) throws(SystemError) {
        let rc = vip.address.bytes.withUnsafeBufferPointer {
            cvrrp_nl_addr(0, ifindex, vip.address.systemFamily, $0.baseAddress, Int32(vip.prefixLength))
        }
        _ = try SystemError.check(rc, "removing \(vip) from \(interface)")
    }

    static func isPresent(_ address: IPAddress, ifindex: Int32) -> Bool {
        address.bytes.withUnsafeBufferPointer { cvrrp_nl_has_addr(ifindex, address.systemFamily, $0.baseAddress) } == 1
    }
}
