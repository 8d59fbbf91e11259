import Testing
import VRRP
@testable import VRRPConfig
@testable import VRRPDaemon

@Suite struct DaemonPacketIntakeTests {
    static let us = IPv4Address(198, 51, 100, 201)
    static let peer = IPv4Address(198, 51, 100, 202)
    static let stranger = IPv4Address(198, 51, 100, 203)

    func advert(vrid: UInt8 = 51, priority: UInt8 = 200) -> VRRPAdvertisement {
        VRRPAdvertisement(version: .v3, vrid: vrid, priority: priority, maxAdvertisementInterval: 10,
                          addresses: [.v4(IPv4Address(198, 51, 100, 240))])
    }

    func packet(from source: IPv4Address = peer, to destination: IPv4Address = .vrrpMulticast,
                vrid: UInt8 = 51) -> [UInt8] {
        VRRPCodec.encodeIPv4Packet(advert(vrid: vrid), source: source, destination: destination)
    }

    func context(unicastPeers: [IPv4Address] = [], siblings: Set<UInt8> = []) -> PacketIntake.Context {
        PacketIntake.Context(version: .v3, checksum: .pseudoHeader, ownAddress: .v4(Self.us),
                             unicastPeers: unicastPeers.map { .v4($0) }, siblingVRIDs: siblings)
    }

    /// Rewrites the TTL and fixes the IPv4 header checksum.
    func withTTL(_ ttl: UInt8, _ p: [UInt8]) -> [UInt8] {
        var p = p
        p[8] = ttl
        p[10] = 0
        p[11] = 0
        let sum = InternetChecksum.of(p[0..<20])
        p[10] = UInt8(sum >> 8)
        p[11] = UInt8(sum & 0xff)
        return p
    }

    @Test func aValidAdvertFromAPeerGoesToTheRouter() {
        #expect(PacketIntake.classify(packet(), context()) == .advertisement(advert(), from: .v4(Self.peer)))
    }

    @Test func ourOwnAdvertIsIgnored() {
        #expect(PacketIntake.classify(packet(from: Self.us), context()) == .ignored)
    }

    @Test func aSiblingInstancesVRIDIsIgnoredNotCounted() {
        #expect(PacketIntake.classify(packet(vrid: 52), context(siblings: [52])) == .ignored)
    }

    @Test func aCorruptedChecksumIsRejectedForTheRouterToCount() {
        var p = packet()
        p[p.count - 1] ^= 0xff
        guard case .rejected(let error, let from) = PacketIntake.classify(p, context()) else {
            Issue.record("not rejected")
            return
        }
        #expect(error.kind == .checksumBad)
        #expect(from == .v4(Self.peer))
    }

    @Test func multicastAdvertsNeedTTL255() {
        guard case .rejected(let error, _) = PacketIntake.classify(withTTL(254, packet()), context()) else {
            Issue.record("not rejected")
            return
        }
        #expect(error.kind == .ttlNot255)
    }

    @Test func unicastModeDropsStrangersAndAcceptsRoutedPeers() {
        let c = context(unicastPeers: [Self.peer])
        #expect(PacketIntake.classify(packet(from: Self.stranger, to: Self.us), c)
                == .dropped(reason: "unknown-unicast-peer", from: .v4(Self.stranger)))
        let routed = withTTL(62, packet(from: Self.peer, to: Self.us))
        #expect(PacketIntake.classify(routed, c) == .advertisement(advert(), from: .v4(Self.peer)))
    }

    @Test func unicastTTLCheckRefusesRoutedPeersAndKeepsLinkPeers() {
        var c = context(unicastPeers: [Self.peer])
        c.unicastTTLCheck = true
        guard case .rejected(let error, _) = PacketIntake.classify(withTTL(62, packet(from: Self.peer, to: Self.us)), c) else {
            Issue.record("a routed (or spoofed from afar) advert was accepted")
            return
        }
        #expect(error.kind == .ttlNot255)
        #expect(PacketIntake.classify(packet(from: Self.peer, to: Self.us), c) == .advertisement(advert(), from: .v4(Self.peer)))
    }

    // SplitMix64 (from the simulation tests) is seeded, so a failing case replays.
    @Test func randomBytesAreNeverTakenForAnAdvert() {
        var rng = SplitMix64(seed: 0x5eed)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...120, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if case .advertisement = PacketIntake.classify(bytes, context()) {
                Issue.record("random bytes accepted: \(bytes)")
                return
            }
        }
    }

    @Test func mutatedAdvertsAreClassifiedWithoutCrashing() {
        var rng = SplitMix64(seed: 0xfacade)
        let valid = packet()
        var rejected = 0
        for _ in 0..<20_000 {
            var p = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { p = Array(p.prefix(Int.random(in: 0...p.count, using: &rng))) }
            if case .rejected = PacketIntake.classify(p, context()) { rejected += 1 }
        }
        // Nearly every mutation breaks a checksum or a length.
        #expect(rejected > 18_000)
    }
}

