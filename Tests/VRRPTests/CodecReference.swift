import VRRP

/// RFC 1071 written the plain way, independent of the codec's accumulating implementation.
func referenceInternetChecksum(_ bytes: [UInt8]) -> UInt16 {
    var words = bytes
    if words.count % 2 == 1 { words.append(0) }
    var sum: UInt32 = 0
    for index in stride(from: 0, to: words.count, by: 2) {
        sum += UInt32(words[index]) << 8 | UInt32(words[index + 1])
        sum = (sum & 0xFFFF) + (sum >> 16)
    }
    return ~UInt16(sum)
}

func ipv4(_ text: String) -> IPAddress { .v4(IPv4Address(text)!) }
func ipv6(_ text: String) -> IPAddress { .v6(IPv6Address(text)!) }

let testSource = ipv4("198.51.100.1")
let testGroup = IPAddress.v4(.vrrpMulticast)
let testVIP = ipv4("198.51.100.100")

func facts(_ source: IPAddress = testSource, _ destination: IPAddress = testGroup, ttl: UInt8 = 255) -> IPLayerFacts {
    IPLayerFacts(source: source, destination: destination, ttl: ttl, protocolNumber: 112)
}

func checksumField(_ message: [UInt8]) -> UInt16 { UInt16(message[6]) << 8 | UInt16(message[7]) }

func withChecksumZeroed(_ message: [UInt8]) -> [UInt8] {
    var copy = message
    copy[6] = 0
    copy[7] = 0
    return copy
}

/// Rewrites the checksum so that a deliberately altered message fails only the check under test.
func rechecksummed(_ message: [UInt8], pseudoHeader: [UInt8] = []) -> [UInt8] {
    var copy = withChecksumZeroed(message)
    let sum = referenceInternetChecksum(pseudoHeader + copy)
    copy[6] = UInt8(sum >> 8)
    copy[7] = UInt8(sum & 0xFF)
    return copy
}

func ipv4PseudoHeader(_ source: IPAddress, _ destination: IPAddress, length: Int) -> [UInt8] {
    source.bytes + destination.bytes + [0, 112, UInt8(length >> 8), UInt8(length & 0xFF)]
}
