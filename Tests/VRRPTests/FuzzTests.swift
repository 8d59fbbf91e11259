import Testing
import VRRP

/// The parser faces the network: whatever arrives, it must return an advertisement or one of its
/// errors, never trap. Seeded, so any failure reproduces.
@Suite("VRRP codec: fuzzing the parser")
struct FuzzTests {
    static let versions: [VRRPVersion] = [.v2, .v3]

    func randomBytes(_ random: inout SplitMix64, maxLength: Int) -> [UInt8] {
        (0..<Int.random(in: 0...maxLength, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    func randomFacts(_ random: inout SplitMix64) -> IPLayerFacts {
        let v6 = random.chance(0.2)
        let source: IPAddress = v6 ? .v6(IPv6Address(high: 0xFE80 << 48, low: random.next())) : .v4(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &random)))
        let destination: IPAddress = v6 ? .v6(.vrrpMulticast) : (random.chance(0.9) ? .v4(.vrrpMulticast) : .v4(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &random))))
        return IPLayerFacts(source: source, destination: destination,
                            ttl: random.chance(0.9) ? 255 : UInt8.random(in: 0...255, using: &random),
                            protocolNumber: random.chance(0.95) ? 112 : UInt8.random(in: 0...255, using: &random))
    }

    func validMessage(_ random: inout SplitMix64, version: VRRPVersion, facts: IPLayerFacts, mode: VRRPChecksumMode) -> [UInt8] {
        let family = facts.source.family
        let count = Int.random(in: 1...6, using: &random)
        let addresses: [IPAddress] = (0..<count).map { _ in
            family == .ipv4 ? .v4(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &random)))
                            : .v6(IPv6Address(high: random.next(), low: random.next()))
        }
        let interval: UInt16 = version == .v2 ? UInt16.random(in: 1...255, using: &random) * 100 : UInt16.random(in: 1...4095, using: &random)
        let advert = VRRPAdvertisement(version: version, vrid: UInt8.random(in: 1...255, using: &random),
                                       priority: UInt8.random(in: 0...255, using: &random), maxAdvertisementInterval: interval,
                                       addresses: addresses,
                                       authentication: version == .v2 && random.chance(0.5) ? .simplePassword("pw") : .none)
        return VRRPCodec.encode(advert, source: facts.source, destination: facts.destination, checksum: mode)
    }

    func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var result = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !result.isEmpty:
                let bit = Int.random(in: 0..<(result.count * 8), using: &random)
                result[bit / 8] ^= 1 << UInt8(bit % 8)
            case 1 where !result.isEmpty:
                result[Int.random(in: 0..<result.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 2:
                result = Array(result.prefix(Int.random(in: 0...result.count, using: &random)))
            case 3:
                result += randomBytes(&random, maxLength: 8)
            case 4:
                result.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...result.count, using: &random))
            case 5 where !result.isEmpty:
                result.remove(at: Int.random(in: 0..<result.count, using: &random))
            default:
                result[...].reverse()
            }
        }
        return result
    }

    /// Decodes; an accepted message must be canonical (re-encoding gives the same octets, the v3
    /// reserved bits aside), a rejected one must say which check failed.
    func check(_ bytes: [UInt8], facts: IPLayerFacts, version: VRRPVersion, mode: VRRPChecksumMode,
               rejections: inout [VRRPPacketError.Kind: Int]) -> Bool {
        do {
            let advert = try VRRPCodec.decode(bytes, ip: facts, version: version, checksum: mode)
            var canonical = bytes
            if version == .v3 { canonical[4] &= 0x0F }
            let again = VRRPCodec.encode(advert, source: facts.source, destination: facts.destination, checksum: mode)
            return again == canonical || version == .v3 && again[8...] == canonical[8...]
        } catch {
            rejections[error.kind, default: 0] += 1
            return !error.description.isEmpty
        }
    }

    @Test func randomBytesAreRejectedWithAReasonAndNeverCrashTheParser() {
        var random = SplitMix64(seed: 0x5EED_0001)
        var rejections: [VRRPPacketError.Kind: Int] = [:]
        var bad = 0
        for _ in 0..<20_000 {
            let facts = randomFacts(&random)
            let version = Self.versions.randomElement(using: &random)!
            let mode: VRRPChecksumMode = random.chance(0.5) ? .pseudoHeader : .messageOnly
            if !check(randomBytes(&random, maxLength: 96), facts: facts, version: version, mode: mode, rejections: &rejections) { bad += 1 }
        }
        #expect(bad == 0)
        #expect(rejections.values.reduce(0, +) > 19_000)
        #expect(rejections.count >= 6, "reasons seen: \(rejections)")
    }

    @Test func mutatedValidPacketsAreRejectedWithAReasonOrDecodeCanonically() {
        var random = SplitMix64(seed: 0x5EED_0002)
        var rejections: [VRRPPacketError.Kind: Int] = [:]
        var bad = 0
        for _ in 0..<20_000 {
            var facts = randomFacts(&random)
            facts.protocolNumber = 112
            facts.ttl = 255
            let version: VRRPVersion = facts.source.family == .ipv6 ? .v3 : Self.versions.randomElement(using: &random)!
            let mode: VRRPChecksumMode = random.chance(0.5) ? .pseudoHeader : .messageOnly
            let valid = validMessage(&random, version: version, facts: facts, mode: mode)
            if !check(mutate(valid, &random), facts: facts, version: version, mode: mode, rejections: &rejections) { bad += 1 }
        }
        #expect(bad == 0)
        for kind: VRRPPacketError.Kind in [.truncated, .versionMismatch, .notAdvertisement, .noAddresses, .lengthMismatch, .checksumBad] {
            #expect(rejections[kind, default: 0] > 0, "never hit \(kind): \(rejections)")
        }
    }

    @Test func everySingleBitFlipOfAValidAdvertisementIsRejected() {
        let facts = IPLayerFacts(source: testSource, destination: testGroup)
        for version in Self.versions {
            let advert = VRRPAdvertisement(version: version, vrid: 51, priority: 200, maxAdvertisementInterval: 100,
                                           addresses: [testVIP, ipv4("198.51.100.101")],
                                           authentication: version == .v2 ? .simplePassword("secret") : .none)
            let valid = VRRPCodec.encode(advert, source: facts.source, destination: facts.destination)
            for bit in 0..<(valid.count * 8) {
                // The v3 reserved bits are ignored by definition (RFC 5798 §5.2.6).
                if version == .v3 && bit >= 32 && bit < 36 { continue }
                var flipped = valid
                flipped[bit / 8] ^= 1 << UInt8(7 - bit % 8)
                #expect(throws: VRRPPacketError.self, "v\(version.rawValue) bit \(bit)") {
                    try VRRPCodec.decode(flipped, ip: facts, version: version)
                }
            }
        }
    }

    @Test func wholeIPv4PacketsOfRandomOrMutatedBytesNeverCrashTheParser() {
        var random = SplitMix64(seed: 0x5EED_0003)
        let valid = VRRPCodec.encodeIPv4Packet(
            VRRPAdvertisement(version: .v3, vrid: 51, priority: 254, maxAdvertisementInterval: 1, addresses: [testVIP]),
            source: IPv4Address("198.51.100.1")!, destination: .vrrpMulticast)
        var outcomes: [String: Int] = [:]
        for round in 0..<20_000 {
            let bytes = round % 2 == 0 ? randomBytes(&random, maxLength: 80) : mutate(valid, &random)
            do {
                let received = try VRRPCodec.decodeIPv4Packet(bytes, version: .v3)
                outcomes["accepted", default: 0] += 1
                #expect(received.advertisement.addresses.count == Int(bytes[20 + 3]))
            } catch {
                outcomes[error.kind.rawValue, default: 0] += 1
            }
        }
        #expect(outcomes.count >= 6, "outcomes: \(outcomes)")
        #expect(outcomes["accepted", default: 0] < 20_000)
    }
}
