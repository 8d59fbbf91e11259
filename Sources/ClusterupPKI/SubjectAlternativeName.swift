import ClusterupCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its network-order bytes, so that `::1` and `0:0::1` compare equal.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a literal as the inventory does; no zone index, no surrounding brackets.
    public init?(_ text: String) {
        switch NetworkAddress(ipLiteral: text) {
        case .ipv4(let bytes), .ipv6(let bytes): self.bytes = bytes
        case .dnsName, nil: return nil
        }
    }

    public var isIPv6: Bool { bytes.count == 16 }

    /// Canonical text (RFC 5952 for IPv6).
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        bytes.withUnsafeBytes { raw in
            _ = inet_ntop(isIPv6 ? AF_INET6 : AF_INET, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// The first usable address of a CIDR block: the network address plus one. Kubernetes gives
    /// this address to the `kubernetes` service, so it must be an apiserver SAN.
    public static func firstServiceAddress(ofCIDR cidr: String) -> IPAddress? {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])),
              let prefix = Int(parts[1]), prefix >= 0, prefix < address.bytes.count * 8 - 1
        else { return nil }
        var bytes = address.bytes
        for bit in prefix..<(bytes.count * 8) {
            bytes[bit / 8] &= ~(UInt8(0x80) >> UInt8(bit % 8))
        }
        // Add one with carry.
        var index = bytes.count - 1
        while index >= 0 {
            let (sum, overflow) = bytes[index].addingReportingOverflow(1)
            bytes[index] = sum
            if !overflow { break }
            index -= 1
        }
        return IPAddress(bytes: bytes)
    }
}

/// A subjectAltName entry (RFC 5280 §4.2.1.6). Only the two forms Kubernetes and etcd use.
public enum SubjectAlternativeName: Sendable, Hashable, CustomStringConvertible, Comparable {
    case dnsName(String)
    case ipAddress(IPAddress)

    /// An IP literal becomes `.ipAddress`, anything else must be a valid DNS name (RFC 1123
    /// labels, optionally a leading `*.` wildcard); DNS names are lowercased.
    public init(parsing text: String) throws(ClusterupError) {
        if let ip = IPAddress(text) {
            self = .ipAddress(ip)
            return
        }
        let name = text.lowercased()
        guard Self.isValidDNSName(name) else {
            throw .badInput(
                "'\(text)' is neither an IP address nor a valid DNS name",
                hint: "use an IPv4/IPv6 literal or a DNS name made of labels [a-z0-9-] (max 63 characters each), e.g. api.example.com"
            )
        }
        self = .dnsName(name)
    }

    static func isValidDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.first == "*", labels.count > 1 { labels.removeFirst() }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        }
    }

    /// The form `openssl x509 -text` and OpenSSL's extension config use: `DNS:x`, `IP:x`.
    public var description: String {
        switch self {
        case .dnsName(let name): "DNS:\(name)"
        case .ipAddress(let ip): "IP:\(ip)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.dnsName(let a), .dnsName(let b)): a < b
        case (.ipAddress(let a), .ipAddress(let b)): a < b
        case (.dnsName, .ipAddress): true
        case (.ipAddress, .dnsName): false
        }
    }
}
