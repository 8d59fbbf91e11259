/// The facts of an IPv4 header that VRRP needs. A raw IPv4 socket delivers the header with the data.
public struct IPv4Header: Sendable, Hashable {
    public var headerLength: Int
    public var totalLength: Int
    public var ttl: UInt8
    public var protocolNumber: UInt8
    public var source: IPv4Address
    public var destination: IPv4Address

    public var facts: IPLayerFacts {
        IPLayerFacts(source: .v4(source), destination: .v4(destination), ttl: ttl, protocolNumber: protocolNumber)
    }
}

/// A VRRP advertisement together with the IP facts it arrived with.
public struct ReceivedAdvertisement: Sendable, Hashable {
    public var ip: IPLayerFacts
    public var advertisement: VRRPAdvertisement

    public init(ip: IPLayerFacts, advertisement: VRRPAdvertisement) {
        self.ip = ip
        self.advertisement = advertisement
    }
}

extension VRRPCodec {
    public static let ipv4MinimumHeaderLength = 20
    /// Internetwork control, as keepalived marks adverts.
    static let typeOfServiceInternetControl: UInt8 = 0xC0

    /// Parses an IPv4 header and returns it with the payload it delimits. Octets past the total
    /// length (Ethernet padding of short frames) are not part of the payload. `verifyingChecksum:
    /// false` skips the header checksum, for packets the kernel has already checked (Linux drops
    /// IPv4 packets with a bad header checksum before any raw socket sees them).
    public static func parseIPv4Header(
        _ packet: ArraySlice<UInt8>, verifyingChecksum: Bool = true
    ) throws(VRRPPacketError) -> (header: IPv4Header, payload: ArraySlice<UInt8>) {
        guard packet.count >= ipv4MinimumHeaderLength else { throw .ipv4HeaderTruncated(length: packet.count) }
        let start = packet.startIndex
        func byte(_ offset: Int) -> UInt8 { packet[start + offset] }
        func word(_ offset: Int) -> UInt32 {
            UInt32(byte(offset)) << 24 | UInt32(byte(offset + 1)) << 16 | UInt32(byte(offset + 2)) << 8 | UInt32(byte(offset + 3))
        }
        let version = byte(0) >> 4
        guard version == 4 else { throw .notIPv4(version: version) }
        let headerLength = Int(byte(0) & 0x0F) * 4
        guard headerLength >= ipv4MinimumHeaderLength, headerLength <= packet.count else {
            throw .ipv4HeaderLengthInvalid(headerLength: headerLength)
        }
        let totalLength = Int(byte(2)) << 8 | Int(byte(3))
        guard totalLength >= headerLength, totalLength <= packet.count else {
            throw .ipv4TotalLengthInvalid(totalLength: totalLength, received: packet.count)
        }
        if verifyingChecksum {
            guard InternetChecksum.of(packet[start..<(start + headerLength)]) == 0 else { throw .ipv4HeaderChecksumBad }
        }
        let moreFragments = byte(6) & 0x20 != 0
        let fragmentOffset = (UInt16(byte(6)) << 8 | UInt16(byte(7))) & 0x1FFF
        guard !moreFragments, fragmentOffset == 0 else { throw .ipv4Fragment }
        let header = IPv4Header(
            headerLength: headerLength, totalLength: totalLength, ttl: byte(8), protocolNumber: byte(9),
            source: IPv4Address(word(12)), destination: IPv4Address(word(16)))
        return (header, packet[(start + headerLength)..<(start + totalLength)])
    }

    /// Parses a whole IPv4 packet as a raw socket delivers it, then decodes the VRRP message in it.
    public static func decodeIPv4Packet(
        _ packet: ArraySlice<UInt8>, version: VRRPVersion, checksum mode: VRRPChecksumMode = .pseudoHeader,
        requireTTL255: Bool = true
    ) throws(VRRPPacketError) -> ReceivedAdvertisement {
        let (header, payload) = try parseIPv4Header(packet)
        let advertisement = try decode(payload, ip: header.facts, version: version, checksum: mode,
                                       requireTTL255: requireTTL255)
        return ReceivedAdvertisement(ip: header.facts, advertisement: advertisement)
    }

    public static func decodeIPv4Packet(
        _ packet: [UInt8], version: VRRPVersion, checksum mode: VRRPChecksumMode = .pseudoHeader,
        requireTTL255: Bool = true
    ) throws(VRRPPacketError) -> ReceivedAdvertisement {
        try decodeIPv4Packet(packet[...], version: version, checksum: mode, requireTTL255: requireTTL255)
    }

    /// A complete IPv4 packet (header with TTL 255, protocol 112, no fragmentation) carrying the
    /// advertisement, for sockets opened with IP_HDRINCL. `dontFragment` sets DF: the daemon's
    /// adverts are atomic datagrams, whose Identification may then stay 0 (RFC 6864).
    public static func encodeIPv4Packet(
        _ advertisement: VRRPAdvertisement, source: IPv4Address, destination: IPv4Address,
        checksum mode: VRRPChecksumMode = .pseudoHeader, identification: UInt16 = 0, dontFragment: Bool = false
    ) -> [UInt8] {
        let message = encode(advertisement, source: .v4(source), destination: .v4(destination), checksum: mode)
        let totalLength = ipv4MinimumHeaderLength + message.count
        var packet: [UInt8] = [
            0x45, typeOfServiceInternetControl, UInt8(totalLength >> 8), UInt8(totalLength & 0xFF),
            UInt8(identification >> 8), UInt8(identification & 0xFF), dontFragment ? 0x40 : 0, 0,
            vrrpTTL, ipProtocolVRRP, 0, 0,
        ]
        packet += source.bytes
        packet += destination.bytes
        let sum = InternetChecksum.of(packet)
        packet[10] = UInt8(sum >> 8)
        packet[11] = UInt8(sum & 0xFF)
        return packet + message
    }
}
