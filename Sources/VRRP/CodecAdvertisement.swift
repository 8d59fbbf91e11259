/// IP protocol number of VRRP (RFC 5798 §5.1.1.3).
public let ipProtocolVRRP: UInt8 = 112

/// The only TTL / Hop Limit a VRRP packet may carry (RFC 5798 §5.1.1.3, §7.1).
public let vrrpTTL: UInt8 = 255

/// VRRPv2 authentication (RFC 3768 §5.3.6). Spoken only for keepalived compatibility; VRRPv3 has none.
public enum VRRPv2Authentication: Sendable, Hashable {
    /// Auth Type 0.
    case none
    /// Auth Type 1: the 8 Authentication Data octets, the password zero-padded.
    case simplePassword([UInt8])
    /// Any other Auth Type (2 was IP AH in RFC 2338), kept so the state machine can count and reject it.
    case other(type: UInt8, data: [UInt8])

    public static let dataLength = 8

    /// A password as keepalived sends it: the first 8 octets of its UTF-8, zero-padded.
    public static func simplePassword(_ password: String) -> VRRPv2Authentication {
        let octets = Array(password.utf8.prefix(dataLength))
        return .simplePassword(octets + Array(repeating: 0, count: dataLength - octets.count))
    }

    public var authType: UInt8 {
        switch self {
        case .none: 0
        case .simplePassword: 1
        case .other(let type, _): type
        }
    }

    /// Exactly 8 octets for the wire.
    var data: [UInt8] {
        let raw: [UInt8]
        switch self {
        case .none: raw = []
        case .simplePassword(let octets): raw = octets
        case .other(_, let octets): raw = octets
        }
        let clipped = Array(raw.prefix(Self.dataLength))
        return clipped + Array(repeating: 0, count: Self.dataLength - clipped.count)
    }
}

/// A VRRP ADVERTISEMENT (RFC 5798 §5.2, RFC 3768 §5.3), the only VRRP message type.
public struct VRRPAdvertisement: Sendable, Hashable {
    public var version: VRRPVersion
    /// Virtual Rtr ID, 1...255.
    public var vrid: UInt8
    /// 0 means the Master is resigning, 255 the address owner.
    public var priority: UInt8
    /// In centiseconds for both versions. VRRPv3 carries 12 bits of centiseconds (Max Adver Int);
    /// VRRPv2 carries whole seconds (Adver Int), so v2 values are multiples of 100.
    public var maxAdvertisementInterval: UInt16
    /// The virtual addresses; all of the family of the IP packet carrying the advertisement.
    public var addresses: [IPAddress]
    /// VRRPv2 only; `.none` for VRRPv3.
    public var authentication: VRRPv2Authentication

    public init(
        version: VRRPVersion, vrid: UInt8, priority: UInt8, maxAdvertisementInterval: UInt16,
        addresses: [IPAddress], authentication: VRRPv2Authentication = .none
    ) {
        self.version = version
        self.vrid = vrid
        self.priority = priority
        self.maxAdvertisementInterval = maxAdvertisementInterval
        self.addresses = addresses
        self.authentication = authentication
    }

    /// Octets of the VRRP message (without IP header) for `count` addresses of `family`.
    public static func messageLength(version: VRRPVersion, family: AddressFamily, count: Int) -> Int {
        switch version {
        case .v2: VRRPCodec.fixedHeaderLength + count * family.addressLength + VRRPv2Authentication.dataLength
        case .v3: VRRPCodec.fixedHeaderLength + count * family.addressLength
        }
    }
}

/// The IP-layer facts a raw socket reports alongside a VRRP message (for IPv4 from the header the
/// socket delivers, for IPv6 from ancillary data).
public struct IPLayerFacts: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    /// IPv4 TTL or IPv6 Hop Limit.
    public var ttl: UInt8
    public var protocolNumber: UInt8

    public init(source: IPAddress, destination: IPAddress, ttl: UInt8 = vrrpTTL, protocolNumber: UInt8 = ipProtocolVRRP) {
        self.source = source
        self.destination = destination
        self.ttl = ttl
        self.protocolNumber = protocolNumber
    }
}

/// Why a received packet is not a valid VRRP advertisement: one case per receive check, so each
/// can be counted apart. VRID, priority, interval and authentication rules are the state machine's.
public enum VRRPPacketError: Error, Sendable, Hashable, CustomStringConvertible {
    // The IPv4 header, when a whole packet is parsed.
    case ipv4HeaderTruncated(length: Int)
    case notIPv4(version: UInt8)
    case ipv4HeaderLengthInvalid(headerLength: Int)
    case ipv4TotalLengthInvalid(totalLength: Int, received: Int)
    case ipv4HeaderChecksumBad
    case ipv4Fragment
    // The IP-layer facts.
    case notVRRPProtocol(UInt8)
    case addressFamilyMismatch(source: AddressFamily, destination: AddressFamily)
    case v2OverIPv6
    case ttlNot255(UInt8)
    // The VRRP message.
    case truncated(length: Int)
    case versionMismatch(expected: VRRPVersion, received: UInt8)
    case notAdvertisement(type: UInt8)
    case noAddresses
    case lengthMismatch(count: UInt8, expected: Int, received: Int)
    case checksumBad(received: UInt16, computed: UInt16)

    /// One stable name per check, for counters and logs.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case ipv4HeaderTruncated = "ipv4-header-truncated"
        case notIPv4 = "not-ipv4"
        case ipv4HeaderLengthInvalid = "ipv4-header-length"
        case ipv4TotalLengthInvalid = "ipv4-total-length"
        case ipv4HeaderChecksumBad = "ipv4-header-checksum"
        case ipv4Fragment = "ipv4-fragment"
        case notVRRPProtocol = "protocol"
        case addressFamilyMismatch = "address-family"
        case v2OverIPv6 = "v2-over-ipv6"
        case ttlNot255 = "ttl"
        case truncated = "truncated"
        case versionMismatch = "version"
        case notAdvertisement = "type"
        case noAddresses = "address-count"
        case lengthMismatch = "length"
        case checksumBad = "checksum"
    }

    public var kind: Kind {
        switch self {
        case .ipv4HeaderTruncated: .ipv4HeaderTruncated
        case .notIPv4: .notIPv4
        case .ipv4HeaderLengthInvalid: .ipv4HeaderLengthInvalid
        case .ipv4TotalLengthInvalid: .ipv4TotalLengthInvalid
        case .ipv4HeaderChecksumBad: .ipv4HeaderChecksumBad
        case .ipv4Fragment: .ipv4Fragment
        case .notVRRPProtocol: .notVRRPProtocol
        case .addressFamilyMismatch: .addressFamilyMismatch
        case .v2OverIPv6: .v2OverIPv6
        case .ttlNot255: .ttlNot255
        case .truncated: .truncated
        case .versionMismatch: .versionMismatch
        case .notAdvertisement: .notAdvertisement
        case .noAddresses: .noAddresses
        case .lengthMismatch: .lengthMismatch
        case .checksumBad: .checksumBad
        }
    }

    public var description: String {
        switch self {
        case .ipv4HeaderTruncated(let length): "IPv4 packet of \(length) octets is shorter than an IPv4 header"
        case .notIPv4(let version): "IP version \(version) where 4 was expected"
        case .ipv4HeaderLengthInvalid(let length): "IPv4 header length \(length) is invalid"
        case .ipv4TotalLengthInvalid(let total, let received):
            "IPv4 total length \(total) does not fit the \(received) octets received"
        case .ipv4HeaderChecksumBad: "IPv4 header checksum is bad"
        case .ipv4Fragment: "IPv4 fragment (VRRP packets are never fragmented)"
        case .notVRRPProtocol(let number): "IP protocol \(number) is not VRRP (112)"
        case .addressFamilyMismatch(let source, let destination):
            "source is \(source) but destination is \(destination)"
        case .v2OverIPv6: "VRRPv2 is defined for IPv4 only"
        case .ttlNot255(let ttl): "TTL \(ttl) is not 255 (RFC 5798 §7.1): sent from off-link or by a broken router"
        case .truncated(let length): "VRRP message of \(length) octets is shorter than the 8-octet fixed header"
        case .versionMismatch(let expected, let received):
            "VRRP version \(received) where \(expected.rawValue) is configured"
        case .notAdvertisement(let type): "VRRP type \(type) is not ADVERTISEMENT (1)"
        case .noAddresses: "Count IPvX Addr is 0 (the minimum is 1)"
        case .lengthMismatch(let count, let expected, let received):
            "VRRP message of \(received) octets does not match \(count) address(es): \(expected) expected"
        case .checksumBad(let received, let computed):
            "VRRP checksum 0x\(hex16(received)) is bad (0x\(hex16(computed)) expected)"
        }
    }
}

func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
