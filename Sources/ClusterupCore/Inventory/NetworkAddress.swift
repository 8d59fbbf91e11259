#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What an address field may hold: an IP literal or a DNS name.
public enum NetworkAddress: Sendable, Hashable {
    case ipv4([UInt8])
    case ipv6([UInt8])
    /// Lower-cased, without a trailing dot.
    case dnsName(String)

    /// Parses an IPv4/IPv6 literal or a DNS name; nil when it is neither (e.g. "198.51.100.300").
    public init?(_ text: String) {
        if let bytes = Self.parse(text, family: AF_INET, count: 4) {
            self = .ipv4(bytes)
        } else if let bytes = Self.parse(text, family: AF_INET6, count: 16) {
            self = .ipv6(bytes)
        } else if Self.isDNSName(text) {
            var name = text.lowercased()
            if name.hasSuffix(".") { name.removeLast() }
            self = .dnsName(name)
        } else {
            return nil
        }
    }

    /// An IP literal only.
    public init?(ipLiteral text: String) {
        guard let address = NetworkAddress(text), address.isIP else { return nil }
        self = address
    }

    public var isIP: Bool {
        if case .dnsName = self { return false }
        return true
    }

    public var isIPv6: Bool {
        if case .ipv6 = self { return true }
        return false
    }

    private static func parse(_ text: String, family: Int32, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
        return ok == 1 ? bytes : nil
    }

    /// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, at most 63
    /// characters each and 253 in all. All-numeric names are refused: they are mistyped IPv4 addresses.
    public static func isDNSName(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.count),
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
                  label.first != "-", label.last != "-"
            else { return false }
        }
        return !labels.allSatisfy { $0.allSatisfy(\.isNumber) }
    }
}

/// An IP prefix such as `10.96.0.0/12`.
public struct IPNetwork: Sendable, Hashable {
    public var address: NetworkAddress
    public var prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = NetworkAddress(ipLiteral: String(parts[0])),
              let length = Int(parts[1]), length >= 0, length <= (address.isIPv6 ? 128 : 32)
        else { return nil }
        self.address = address
        self.prefixLength = length
    }
}

/// Splits `host:port` or `[v6]:port`; the port must be 1...65535.
func splitHostPort(_ text: String) -> (host: String, port: Int)? {
    let host: Substring, portText: Substring
    if text.hasPrefix("[") {
        guard let close = text.firstIndex(of: "]") else { return nil }
        host = text[text.index(after: text.startIndex)..<close]
        let rest = text[text.index(after: close)...]
        guard rest.hasPrefix(":") else { return nil }
        portText = rest.dropFirst()
    } else {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        host = text[..<colon]
        portText = text[text.index(after: colon)...]
        if host.contains(":") { return nil }
    }
    guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { return nil }
    return (String(host), port)
}
