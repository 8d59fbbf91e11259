import VRRP
import CVRRPSys
import Glibc

/// The raw socket for protocol 112 of one instance: bound to its interface, TTL / hop limit 255,
/// no multicast loop; joined to 224.0.0.18 or ff02::12 unless the instance talks unicast to its
/// peers. IPv4 datagrams arrive with their header; IPv6 ones without, their facts as ancillary data.
final class VRRPSocket {
    let fd: Int32
    let source: IPAddress
    let ifindex: Int32
    /// Room for the largest advert with its IPv4 header (60 + 8 + 255 × 4 octets) or over IPv6
    /// (8 + 255 × 16) and more; a longer datagram is truncated, and the codec then rejects its length.
    private var buffer = [UInt8](repeating: 0, count: 4096)
    /// Source, destination and hop limit of the last IPv6 datagram received.
    private(set) var receivedFacts: IPLayerFacts?
    private var peer = [UInt8](repeating: 0, count: 16)
    private var local = [UInt8](repeating: 0, count: 16)
    private let sourceBytes: [UInt8]

    init(interface: String, ifindex: Int32, source: IPAddress, multicast: Bool) throws(SystemError) {
        let what = "opening the VRRP raw socket on \(interface) from \(source)"
        switch source {
        case .v4(let a):
            fd = try SystemError.check(cvrrp_vrrp_open(interface, ifindex, a.networkOrder, multicast ? 1 : 0), what)
        case .v6(let a):
            fd = try SystemError.check(
                a.bytes.withUnsafeBufferPointer { cvrrp_vrrp6_open(interface, ifindex, $0.baseAddress, multicast ? 1 : 0) }, what)
        }
        self.source = source
        self.ifindex = ifindex
        sourceBytes = source.bytes
    }

    deinit { close(fd) }

    var family: AddressFamily { source.family }

    /// Sends one advert: over IPv4 a whole packet, IPv4 header included (the socket has
    /// IP_HDRINCL); over IPv6 the VRRP message alone.
    func send(_ message: [UInt8], to destination: IPAddress) throws(SystemError) {
        let rc: Int32
        switch destination {
        case .v4(let d):
            rc = message.withUnsafeBytes { cvrrp_vrrp_send(fd, d.networkOrder, $0.baseAddress, $0.count) }
        case .v6:
            let dst = destination.bytes
            rc = message.withUnsafeBytes { m in
                sourceBytes.withUnsafeBufferPointer { s in
                    dst.withUnsafeBufferPointer { d in
                        cvrrp_vrrp6_send(fd, ifindex, s.baseAddress, d.baseAddress, m.baseAddress, m.count)
                    }
                }
            }
        }
        _ = try SystemError.check(rc, "sending an advertisement to \(destination)")
    }

    /// Receives the next pending datagram into the socket's buffer and returns its length, 0 when
    /// none is pending. Read it with `received(_:)` (and for IPv6 `receivedFacts`) before the next call.
    func receive() throws(SystemError) -> Int {
        switch source {
        case .v4:
            let n = buffer.withUnsafeMutableBytes { cvrrp_vrrp_recv(fd, $0.baseAddress, $0.count) }
            return Int(try SystemError.check(n, "receiving on the VRRP socket"))
        case .v6:
            var hopLimit: Int32 = -1
            let n = buffer.withUnsafeMutableBytes { b in
                peer.withUnsafeMutableBufferPointer { p in
                    local.withUnsafeMutableBufferPointer { l in
                        cvrrp_vrrp6_recv(fd, b.baseAddress, b.count, p.baseAddress, l.baseAddress, &hopLimit)
                    }
                }
            }
            let length = Int(try SystemError.check(n, "receiving on the VRRP socket"))
            if length > 0 {
                // A missing hop limit reads as 0, which the receive checks reject.
                receivedFacts = IPLayerFacts(source: .v6(IPv6Address(bytes: peer)!), destination: .v6(IPv6Address(bytes: local)!),
                                             ttl: (0...255).contains(hopLimit) ? UInt8(hopLimit) : 0)
            }
            return length
        }
    }

    /// The datagram `receive()` just stored, without copying it.
    func received(_ length: Int) -> ArraySlice<UInt8> { buffer[0..<length] }
}
