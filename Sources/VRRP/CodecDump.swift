extension VRRPAdvertisement: CustomStringConvertible {
    /// One line for logs, e.g. `VRRPv3 advert vrid 51 prio 254 int 100cs (1.00s) addrs [198.51.100.100]`.
    public var description: String {
        var text = "VRRPv\(version.rawValue) advert vrid \(vrid) prio \(priority)"
        switch priority {
        case 0: text += " (resign)"
        case 255: text += " (owner)"
        default: break
        }
        text += " int \(maxAdvertisementInterval)cs (\(formatCentiseconds(maxAdvertisementInterval)))"
        text += " addrs [\(addresses.map(\.description).joined(separator: ", "))]"
        if version == .v2 {
            switch authentication {
            case .none: break
            // Never print the password: it is a secret, even if a weak one.
            case .simplePassword: text += " auth simple"
            case .other(let type, _): text += " auth type \(type)"
            }
        }
        return text
    }
}

extension VRRPCodec {
    /// The advertisement with the IP facts it came with, for logs.
    public static func dump(_ received: ReceivedAdvertisement) -> String {
        "\(received.ip.source) > \(received.ip.destination) ttl \(received.ip.ttl): \(received.advertisement)"
    }

    /// Hex of the first `limit` octets, for logging a rejected packet.
    public static func hexDump(_ bytes: some Collection<UInt8>, limit: Int = 64) -> String {
        let digits = Array("0123456789abcdef")
        var text = bytes.prefix(limit).map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }
            .joined(separator: " ")
        if bytes.count > limit { text += " … (\(bytes.count) octets)" }
        return text
    }
}

/// "1.00s" for 100 centiseconds.
func formatCentiseconds(_ centiseconds: UInt16) -> String {
    let hundredths = centiseconds % 100
    return "\(centiseconds / 100).\(hundredths < 10 ? "0" : "")\(hundredths)s"
}
