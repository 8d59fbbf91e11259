import VRRP
import CVRRPSys

/// Adds and removes VIPs over rtnetlink (RTM_NEWADDR / RTM_DELADDR), waiting for the kernel's ack.
enum VirtualAddresses {
    static func add(_ vip: VirtualAddress, ifindex: Int32, interface: String) throws(SystemError) {
        let rc = vip.address.bytes.withUnsafeBufferPointer {
            cvrrp_nl_addr(1, ifindex, 2, $0.baseAddress, Int32(vip.prefixLength))
        }
        _ = try SystemError.check(rc, "adding \(vip) to \(interface)")
    }

    static func remove(_ vip: VirtualAddress, ifindex: Int32, interface: String) throws(SystemError) {
        let rc = vip.address.bytes.withUnsafeBufferPointer {
            cvrrp_nl_addr(0, ifindex, 2, $0.baseAddress, Int32(vip.prefixLength))
        }
        _ = try SystemError.check(rc, "removing \(vip) from \(interface)")
    }

    static func isPresent(_ address: IPv4Address, ifindex: Int32) -> Bool {
        address.bytes.withUnsafeBufferPointer { cvrrp_nl_has_addr(ifindex, 2, $0.baseAddress) } == 1
    }
}
