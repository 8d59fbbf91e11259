import VRRP
import CVRRPSys
import Glibc

/// The raw IPv4 socket for protocol 112 of one instance: bound to its interface, TTL 255, no
/// multicast loop; joined to 224.0.0.18 unless the instance talks unicast to its peers.
final class VRRPSocket {
    let fd: Int32
    let source: IPv4Address
    /// Room for the largest advert with its IPv4 header (60 + 8 + 255 × 4 octets) and more; a
    /// longer datagram is truncated, and the codec then rejects its length.
    private var buffer = [UInt8](repeating: 0, count: 4096)

    init(interface: String, ifindex: Int32, source: IPv4Address, multicast: Bool) throws(SystemError) {
        fd = try SystemError.check(
            cvrrp_vrrp_open(interface, ifindex, source.networkOrder, multicast ? 1 : 0),
            "opening the VRRP raw socket on \(interface) from \(source)")
        self.source = source
    }

    deinit { close(fd) }

    func send(_ message: [UInt8], to destination: IPv4Address) throws(SystemError) {
        let rc = message.withUnsafeBytes { cvrrp_vrrp_send(fd, destination.networkOrder, $0.baseAddress, $0.count) }
        _ = try SystemError.check(rc, "sending an advertisement to \(destination)")
    }

    /// Receives the next pending datagram (with its IPv4 header) into the socket's buffer and
    /// returns its length, 0 when none is pending. Read it with `received(_:)` before the next call.
    func receive() throws(SystemError) -> Int {
        let n = buffer.withUnsafeMutableBytes { cvrrp_vrrp_recv(fd, $0.baseAddress, $0.count) }
        return Int(try SystemError.check(n, "receiving on the VRRP socket"))
    }

    /// The datagram `receive()` just stored, without copying it.
    func received(_ length: Int) -> ArraySlice<UInt8> { buffer[0..<length] }
}
