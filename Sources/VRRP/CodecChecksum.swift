/// The Internet checksum (RFC 1071): ones' complement of the ones' complement sum of 16-bit words.
/// Accumulates across pieces, so a pseudo-header and a message can be summed without concatenation.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    /// A piece of odd length leaves its last byte as the high half of a word.
    private var pendingHighByte: UInt8?

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if let high = pendingHighByte {
                sum += UInt64(high) << 8 | UInt64(byte)
                pendingHighByte = nil
            } else {
                pendingHighByte = byte
            }
        }
    }

    /// Adds one 16-bit word at an even offset (pseudo-header fields), with no byte array.
    mutating func add(word: UInt16) {
        precondition(pendingHighByte == nil, "a word at an odd offset")
        sum += UInt64(word)
    }

    /// Adds an address's octets in network order.
    mutating func add(_ address: IPAddress) {
        switch address {
        case .v4(let a):
            add(word: UInt16(truncatingIfNeeded: a.value >> 16))
            add(word: UInt16(truncatingIfNeeded: a.value))
        case .v6(let a):
            add(words: a.high)
            add(words: a.low)
        }
    }

    private mutating func add(words value: UInt64) {
        add(word: UInt16(truncatingIfNeeded: value >> 48))
        add(word: UInt16(truncatingIfNeeded: value >> 32))
        add(word: UInt16(truncatingIfNeeded: value >> 16))
        add(word: UInt16(truncatingIfNeeded: value))
    }

    public var value: UInt16 {
        var total = sum
        if let high = pendingHighByte { total += UInt64(high) << 8 }
        while total >> 16 != 0 { total = (total & 0xFFFF) + (total >> 16) }
        return ~UInt16(truncatingIfNeeded: total)
    }

    public static func of(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var checksum = InternetChecksum()
        checksum.add(bytes)
        return checksum.value
    }
}

/// What the VRRPv3 checksum covers over IPv4. VRRPv2 always sums the message only, and VRRPv3 over
/// IPv6 always includes the IPv6 pseudo-header (RFC 8200 §8.1).
public enum VRRPChecksumMode: String, Sendable, Hashable, CaseIterable {
    /// RFC 5798 §5.2.8: IPv4 pseudo-header (source, destination, zero, protocol 112, VRRP length) and
    /// message. keepalived's default.
    case pseudoHeader = "pseudo-header"
    /// The message alone, as VRRPv2 does: RFC 9568's allowance and keepalived's `v3_checksum_as_v2`.
    case messageOnly = "message-only"
}

extension VRRPCodec {
    /// Checksum of `message` (whose checksum field is either zero, to compute, or as received, to
    /// verify: a correct message then sums to zero).
    static func checksum(
        of message: ArraySlice<UInt8>, version: VRRPVersion, source: IPAddress, destination: IPAddress,
        mode: VRRPChecksumMode
    ) -> UInt16 {
        var checksum = InternetChecksum()
        let length = message.count
        switch (version, source.family, mode) {
        case (.v2, _, _), (.v3, .ipv4, .messageOnly):
            break
        case (.v3, .ipv4, .pseudoHeader):
            // Source, destination, zero + protocol, VRRP length (RFC 768-style pseudo-header).
            checksum.add(source)
            checksum.add(destination)
            checksum.add(word: UInt16(ipProtocolVRRP))
            checksum.add(word: UInt16(truncatingIfNeeded: length))
        case (.v3, .ipv6, _):
            // Source, destination, 32-bit length, three zero octets + next header (RFC 8200 §8.1).
            checksum.add(source)
            checksum.add(destination)
            checksum.add(word: UInt16(truncatingIfNeeded: length >> 16))
            checksum.add(word: UInt16(truncatingIfNeeded: length))
            checksum.add(word: 0)
            checksum.add(word: UInt16(ipProtocolVRRP))
        }
        checksum.add(message)
        return checksum.value
    }
}
