import VRRPConfig
import VRRP
import CVRRPSys
import Glibc

/// The raw socket for protocol 112 of one instance: bound to its interface, TTL / hop limit 255,
/// no multicast loop; joined to 224.0.0.18 or ff02::12 unless the instance talks unicast to its
/// peers. IPv4 datagrams arrive with their header; IPv6 ones without, their facts as ancillary data.
final class VRRPSocket {
    let fd: Int32
    /// A second socket on the same interface that the kernel lets only adverts of priority 0
    /// for our VRID into: it wakes a Backup that reads `fd` in batches (see `Instance.drain`) when a Master
    /// resigns. Everything it receives also arrives on `fd`.
    let wakeFD: Int32
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

    init(interface: String, ifindex: Int32, source: IPAddress, multicast: Bool, vrid: UInt8) throws(SystemError) {
        fd = try Self.open(interface: interface, ifindex: ifindex, source: source, multicast: multicast)
        self.source = source
        self.ifindex = ifindex
        sourceBytes = source.bytes
        let ipv6: Int32 = source.family == .ipv6 ? 1 : 0
        let wake: Int32
        do {
            _ = try SystemError.check(cvrrp_vrrp_timestamps(fd), "stamping arrivals on the VRRP socket on \(interface)")
            wake = try Self.open(interface: interface, ifindex: ifindex, source: source, multicast: multicast)
        } catch {
            close(fd)
            throw error
        }
        wakeFD = wake
        do {
            _ = try SystemError.check(cvrrp_vrrp_priority_zero_filter(wakeFD, ipv6, vrid), "filtering the VRRP wake socket on \(interface)")
            _ = try SystemError.check(cvrrp_vrrp_timestamps(wakeFD), "stamping arrivals on the VRRP wake socket on \(interface)")
        } catch {
            close(fd)
            close(wakeFD)
            throw error
        }
        // Whatever came in before the filter was attached is not a resignation.
        while cvrrp_vrrp_recv_batch(wakeFD, ipv6, batchBuffer, Self.slot, Int32(Self.batchMax), batchMeta) > 0 {}
    }

    /// A raw protocol-112 socket on the interface, as described above.
    private static func open(interface: String, ifindex: Int32, source: IPAddress, multicast: Bool) throws(SystemError) -> Int32 {
        let what = "opening the VRRP raw socket on \(interface) from \(source)"
        switch source {
        case .v4(let a):
            return try SystemError.check(cvrrp_vrrp_open(interface, ifindex, a.networkOrder, multicast ? 1 : 0), what)
        case .v6(let a):
            return try SystemError.check(
                a.bytes.withUnsafeBufferPointer { cvrrp_vrrp6_open(interface, ifindex, $0.baseAddress, multicast ? 1 : 0) }, what)
        }
    }

    deinit {
        close(fd)
        close(wakeFD)
        batchBuffer.deallocate()
        batchMeta.deallocate()
    }

    // MARK: Batched intake (a Backup)

    /// Datagrams read per call, and the room for each (the largest advert over IPv6 is 4088 octets).
    static let batchMax = 8
    static let slot = 4096
    private let batchBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: VRRPSocket.batchMax * VRRPSocket.slot)
    private let batchMeta = UnsafeMutablePointer<cvrrp_datagram>.allocate(capacity: VRRPSocket.batchMax)

    /// Reads up to `batchMax` pending datagrams from the main socket (`wake: false`) or the wake
    /// socket, returning how many; read each with `batched(_:)` before the next call.
    func receiveBatch(wake: Bool) throws(SystemError) -> Int {
        let n = cvrrp_vrrp_recv_batch(wake ? wakeFD : fd, source.family == .ipv6 ? 1 : 0, batchBuffer, Self.slot,
                                      Int32(Self.batchMax), batchMeta)
        return Int(try SystemError.check(n, "receiving on the VRRP socket"))
    }

    /// Datagram `k` of the last batch: its bytes (valid until the next batch), its arrival on the
    /// monotonic clock (0 if the kernel did not stamp it), the kernel's stamp itself (equal on
    /// both sockets' copies of a datagram) and, over IPv6, its IP facts.
    func batched(_ k: Int) -> (bytes: UnsafeRawBufferPointer, arrived: UInt64, stamp: UInt64, facts: IPLayerFacts?) {
        let d = batchMeta[k]
        let bytes = UnsafeRawBufferPointer(start: batchBuffer + k * Self.slot, count: min(Int(d.length), Self.slot))
        guard source.family == .ipv6 else { return (bytes, d.arrived_ns, d.stamp_ns, nil) }
        let src = withUnsafeBytes(of: d.src) { Array($0) }, dst = withUnsafeBytes(of: d.dst) { Array($0) }
        let facts = IPLayerFacts(source: .v6(IPv6Address(bytes: src)!), destination: .v6(IPv6Address(bytes: dst)!),
                                 ttl: (0...255).contains(d.hop_limit) ? UInt8(d.hop_limit) : 0)
        return (bytes, d.arrived_ns, d.stamp_ns, facts)
    }

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
