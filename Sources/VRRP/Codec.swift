/// Builds, parses and prints VRRP advertisements. Pure: bytes and IP-layer facts in, values out.
public enum VRRPCodec {
    /// Version/Type, VRID, Priority, Count, Auth Type + Adver Int (v2) or Max Adver Int (v3), Checksum.
    public static let fixedHeaderLength = 8
    static let typeAdvertisement: UInt8 = 1
    /// 12 bits of centiseconds (RFC 5798 §5.2.7).
    public static let maxV3AdvertisementInterval: UInt16 = 0x0FFF

    // MARK: Encoding

    /// The VRRP message for `advertisement`, checksummed for an IP packet from `source` to
    /// `destination`. The caller guarantees what configuration validation checks: at most 255
    /// addresses all of the source's family, a v3 interval of 1...4095 centiseconds, a v2 interval
    /// of whole seconds up to 255 and IPv4 only.
    public static func encode(
        _ advertisement: VRRPAdvertisement, source: IPAddress, destination: IPAddress,
        checksum mode: VRRPChecksumMode = .pseudoHeader
    ) -> [UInt8] {
        let family = source.family
        precondition(destination.family == family, "VRRP source and destination families differ")
        precondition(advertisement.addresses.count <= 255, "more than 255 virtual addresses")
        precondition(advertisement.addresses.allSatisfy { $0.family == family }, "virtual address of another family")
        var message: [UInt8] = []
        message.reserveCapacity(VRRPAdvertisement.messageLength(
            version: advertisement.version, family: family, count: advertisement.addresses.count))
        message.append(advertisement.version.rawValue << 4 | typeAdvertisement)
        message.append(advertisement.vrid)
        message.append(advertisement.priority)
        message.append(UInt8(advertisement.addresses.count))
        switch advertisement.version {
        case .v2:
            precondition(family == .ipv4, "VRRPv2 is IPv4 only")
            let interval = advertisement.maxAdvertisementInterval
            precondition(interval % 100 == 0 && interval / 100 <= 255, "VRRPv2 Adver Int is whole seconds up to 255")
            message.append(advertisement.authentication.authType)
            message.append(UInt8(interval / 100))
        case .v3:
            let interval = advertisement.maxAdvertisementInterval
            precondition(interval <= maxV3AdvertisementInterval, "VRRPv3 Max Adver Int is 12 bits")
            message.append(UInt8(interval >> 8))
            message.append(UInt8(interval & 0xFF))
        }
        message.append(contentsOf: [0, 0])
        for address in advertisement.addresses { message.append(contentsOf: address.bytes) }
        if advertisement.version == .v2 { message.append(contentsOf: advertisement.authentication.data) }
        let sum = checksum(of: message[...], version: advertisement.version, source: source,
                           destination: destination, mode: mode)
        message[6] = UInt8(sum >> 8)
        message[7] = UInt8(sum & 0xFF)
        return message
    }

    // MARK: Decoding

    /// Performs the RFC 5798 §7.1 (RFC 3768 §7.1 for v2) receive checks that need no per-router
    /// state, in order, and returns the advertisement. `requireTTL255` is off only for unicast
    /// peers across routers (as keepalived's unicast mode).
    public static func decode(
        _ message: ArraySlice<UInt8>, ip: IPLayerFacts, version: VRRPVersion,
        checksum mode: VRRPChecksumMode = .pseudoHeader, requireTTL255: Bool = true
    ) throws(VRRPPacketError) -> VRRPAdvertisement {
        guard ip.protocolNumber == ipProtocolVRRP else { throw .notVRRPProtocol(ip.protocolNumber) }
        let family = ip.source.family
        guard ip.destination.family == family else {
            throw .addressFamilyMismatch(source: family, destination: ip.destination.family)
        }
        guard !(version == .v2 && family == .ipv6) else { throw .v2OverIPv6 }
        guard !requireTTL255 || ip.ttl == vrrpTTL else { throw .ttlNot255(ip.ttl) }
        guard message.count >= fixedHeaderLength else { throw .truncated(length: message.count) }
        let start = message.startIndex
        func byte(_ offset: Int) -> UInt8 { message[start + offset] }

        let receivedVersion = byte(0) >> 4
        guard receivedVersion == version.rawValue else {
            throw .versionMismatch(expected: version, received: receivedVersion)
        }
        let type = byte(0) & 0x0F
        guard type == typeAdvertisement else { throw .notAdvertisement(type: type) }
        let count = byte(3)
        guard count > 0 else { throw .noAddresses }
        let expectedLength = VRRPAdvertisement.messageLength(version: version, family: family, count: Int(count))
        guard message.count == expectedLength else {
            throw .lengthMismatch(count: count, expected: expectedLength, received: message.count)
        }
        // A correct message, checksum field included, sums to zero: no copy on the good path.
        guard checksum(of: message, version: version, source: ip.source, destination: ip.destination, mode: mode) == 0 else {
            var zeroed = Array(message)
            zeroed[6] = 0
            zeroed[7] = 0
            let computed = checksum(of: zeroed[...], version: version, source: ip.source, destination: ip.destination, mode: mode)
            throw .checksumBad(received: UInt16(byte(6)) << 8 | UInt16(byte(7)), computed: computed)
        }

        var addresses: [IPAddress] = []
        addresses.reserveCapacity(Int(count))
        var offset = start + fixedHeaderLength
        for _ in 0..<Int(count) {
            let octets = message[offset..<(offset + family.addressLength)]
            switch family {
            case .ipv4:
                addresses.append(.v4(IPv4Address(octets.reduce(0) { $0 << 8 | UInt32($1) })))
            case .ipv6:
                // 16 octets by construction of the slice.
                addresses.append(.v6(IPv6Address(bytes: octets)!))
            }
            offset += family.addressLength
        }
        let interval: UInt16
        let authentication: VRRPv2Authentication
        switch version {
        case .v2:
            interval = UInt16(byte(5)) * 100
            let data = Array(message[offset..<(offset + VRRPv2Authentication.dataLength)])
            switch byte(4) {
            case 0: authentication = .none
            case 1: authentication = .simplePassword(data)
            default: authentication = .other(type: byte(4), data: data)
            }
        case .v3:
            // The top 4 bits are reserved: ignored on receipt (RFC 5798 §5.2.6).
            interval = (UInt16(byte(4)) << 8 | UInt16(byte(5))) & maxV3AdvertisementInterval
            authentication = .none
        }
        return VRRPAdvertisement(version: version, vrid: byte(1), priority: byte(2),
                                 maxAdvertisementInterval: interval, addresses: addresses,
                                 authentication: authentication)
    }

    public static func decode(
        _ message: [UInt8], ip: IPLayerFacts, version: VRRPVersion,
        checksum mode: VRRPChecksumMode = .pseudoHeader, requireTTL255: Bool = true
    ) throws(VRRPPacketError) -> VRRPAdvertisement {
        try decode(message[...], ip: ip, version: version, checksum: mode, requireTTL255: requireTTL255)
    }
}
