import VRRP
extension IPv4Address {
    /// As `in_addr.s_addr`: the bytes in network order, read as a native integer.
    package init(networkOrder raw: UInt32) { self.init(UInt32(bigEndian: raw)) }
    package var networkOrder: UInt32 { value.bigEndian }
    package var isUnspecified: Bool { value == 0 }
    package var isLoopback: Bool { value >> 24 == 127 }

    /// Dotted quad from any substring.
    package static func parse(_ text: some StringProtocol) -> IPv4Address? { IPv4Address(String(text)) }
}

extension IPv6Address {
    package var isUnspecified: Bool { high == 0 && low == 0 }
    package var isLoopback: Bool { high == 0 && low == 1 }
    /// fe80::/10: the source of IPv6 adverts and of the tie-break (RFC 5798 §5.1.2.1).
    package var isLinkLocal: Bool { high >> 54 == 0x3FA }
}

extension IPAddress {
    package var isUnspecified: Bool {
        switch self {
        case .v4(let a): a.isUnspecified
        case .v6(let a): a.isUnspecified
        }
    }
    package var isLoopback: Bool {
        switch self {
        case .v4(let a): a.isLoopback
        case .v6(let a): a.isLoopback
        }
    }
    /// rtnetlink's and the socket calls' address family numbers.
    package var systemFamily: Int32 {
        switch self {
        case .v4: 2   // AF_INET
        case .v6: 10  // AF_INET6
        }
    }
}

/// An address added to the interface while master, with its prefix length.
public struct VirtualAddress: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: Int
    public init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }
    public var description: String { "\(address)/\(prefixLength)" }
}

/// An IPv4 address with a TCP port, written `a.b.c.d:port`.
public struct SocketAddress4: Sendable, Hashable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16
    public init(address: IPv4Address, port: UInt16) {
        self.address = address
        self.port = port
    }
    public init?(_ text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"),
              let a = IPv4Address.parse(text[text.startIndex..<colon]),
              let p = UInt16(text[text.index(after: colon)...]), p > 0 else { return nil }
        address = a
        port = p
    }
    public var description: String { "\(address):\(port)" }
}
