/// An IPv4 address in host order, so that comparison is numeric (RFC 5798 §6.4.3 tie-break).
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Dotted quad, e.g. "198.51.100.10"; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let octet = UInt8(part) else { return nil }
            result = result << 8 | UInt32(octet)
        }
        value = result
    }

    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    public var isMulticast: Bool { value >> 28 == 0xE }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// 224.0.0.18, the VRRP group (RFC 5798 §5.1.1.2).
    public static let vrrpMulticast = IPv4Address(224, 0, 0, 18)
}

/// An IPv6 address as two big-endian halves, so that comparison is numeric.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From exactly 16 bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// RFC 4291 text form, with or without "::".
    public init?(_ text: String) {
        // Split at the first "::" by hand: String's substring search lives in _StringProcessing,
        // which the daemon does not link.
        let octets = Array(text.utf8)
        let colon = UInt8(ascii: ":")
        let gap = octets.indices.dropLast().first { octets[$0] == colon && octets[$0 + 1] == colon }
        if let gap, gap + 2 < octets.count, octets[gap + 2] == colon { return nil }
        let halves = gap.map { [String(decoding: octets[..<$0], as: UTF8.self), String(decoding: octets[($0 + 2)...], as: UTF8.self)] } ?? [text]
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        self.init(bytes: all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    public var isMulticast: Bool { high >> 56 == 0xFF }

    public var description: String {
        let bytes = self.bytes
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        // RFC 5952: compress the longest run (two or more) of zero groups.
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength && end - index >= 2 { bestStart = index; bestLength = end - index }
                index = end
            } else {
                index += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        return hex[..<bestStart].joined(separator: ":") + "::"
            + hex[(bestStart + bestLength)...].joined(separator: ":")
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// ff02::12, the VRRP group for IPv6 (RFC 5798 §5.1.2.2).
    public static let vrrpMulticast = IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x12)
}

/// An address of either family. Comparison is only meaningful within one family.
public enum IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: String) {
        if let v4 = IPv4Address(text) { self = .v4(v4) } else if let v6 = IPv6Address(text) { self = .v6(v6) } else { return nil }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): address.bytes
        case .v6(let address): address.bytes
        }
    }

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var isMulticast: Bool {
        switch self {
        case .v4(let address): address.isMulticast
        case .v6(let address): address.isMulticast
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let l), .v4(let r)): l < r
        case (.v6(let l), .v6(let r)): l < r
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

public enum AddressFamily: Sendable, Hashable, CustomStringConvertible {
    case ipv4
    case ipv6

    /// Octets of one address in a VRRP message.
    public var addressLength: Int {
        switch self {
        case .ipv4: 4
        case .ipv6: 16
        }
    }

    public var description: String {
        switch self {
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        }
    }
}
