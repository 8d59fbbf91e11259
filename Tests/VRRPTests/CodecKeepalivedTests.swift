import Testing
import VRRP

/// Adverts captured from keepalived 2.2.7 (Debian 12) on a veth pair in a private network
/// namespace: VRID 51, priority 254 then 0 on SIGTERM, source 198.51.100.1, VIPs
/// 198.51.100.100 and .101; v3 at advert_int 0.1, v2 at 1 s with auth_pass "secret".
/// Whole IPv4 packets as the raw socket delivers them (Ethernet header removed).
enum KeepalivedCapture {
    static let v3Priority254: [UInt8] = hex("45c0002400010000ff70b061c6336401e0000012 3133fe02000a70c6c6336464c6336465")
    static let v3Priority0: [UInt8] = hex("45c0002400170000ff70b04bc6336401e0000012 31330002000a6ec7c6336464c6336465")
    static let v2Priority254: [UInt8] = hex("45c0002c00010000ff70b059c6336401e0000012 2133fe0201014e4bc6336464c6336465 7365637265740000")
    static let v2Priority0: [UInt8] = hex("45c0002c00040000ff70b056c6336401e0000012 213300020101 4c4cc6336464c6336465 7365637265740000")

    static let v3ByPriority: [([UInt8], UInt8)] = [(v3Priority254, 254), (v3Priority0, 0)]
    static let v2ByPriority: [([UInt8], UInt8)] = [(v2Priority254, 254), (v2Priority0, 0)]

    static let vips: [IPAddress] = [ipv4("198.51.100.100"), ipv4("198.51.100.101")]

    static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }
}

@Suite("VRRP codec: keepalived interop (captured packets)")
struct CodecKeepalivedTests {
    @Test(arguments: KeepalivedCapture.v3ByPriority)
    func keepalivedV3AdvertDecodesWithThePseudoHeaderChecksum(packet: [UInt8], priority: UInt8) throws {
        let received = try VRRPCodec.decodeIPv4Packet(packet, version: .v3, checksum: .pseudoHeader)
        #expect(received.advertisement == VRRPAdvertisement(version: .v3, vrid: 51, priority: priority,
                                                            maxAdvertisementInterval: 10, addresses: KeepalivedCapture.vips))
        #expect(received.ip == IPLayerFacts(source: testSource, destination: testGroup, ttl: 255, protocolNumber: 112))
    }

    @Test(arguments: KeepalivedCapture.v2ByPriority)
    func keepalivedV2AdvertDecodesWithItsPassword(packet: [UInt8], priority: UInt8) throws {
        let received = try VRRPCodec.decodeIPv4Packet(packet, version: .v2)
        #expect(received.advertisement == VRRPAdvertisement(version: .v2, vrid: 51, priority: priority,
                                                            maxAdvertisementInterval: 100, addresses: KeepalivedCapture.vips,
                                                            authentication: .simplePassword("secret")))
    }

    @Test func keepalivedV3AdvertFailsTheMessageOnlyChecksum() {
        #expect(throws: VRRPPacketError.self) {
            try VRRPCodec.decodeIPv4Packet(KeepalivedCapture.v3Priority254, version: .v3, checksum: .messageOnly)
        }
    }

    @Test func ourPacketsAreByteForByteWhatKeepalivedSends() {
        let source = IPv4Address("198.51.100.1")!
        let v3 = VRRPAdvertisement(version: .v3, vrid: 51, priority: 254, maxAdvertisementInterval: 10, addresses: KeepalivedCapture.vips)
        #expect(VRRPCodec.encodeIPv4Packet(v3, source: source, destination: .vrrpMulticast, identification: 1) == KeepalivedCapture.v3Priority254)
        let v2 = VRRPAdvertisement(version: .v2, vrid: 51, priority: 0, maxAdvertisementInterval: 100,
                                   addresses: KeepalivedCapture.vips, authentication: .simplePassword("secret"))
        #expect(VRRPCodec.encodeIPv4Packet(v2, source: source, destination: .vrrpMulticast, identification: 4) == KeepalivedCapture.v2Priority0)
    }

    @Test func keepalivedResignationMakesOurBackupWaitOnlySkewTime() throws {
        let received = try VRRPCodec.decodeIPv4Packet(KeepalivedCapture.v3Priority0, version: .v3)
        var r = try startedBackup(VRRPRouter.Configuration(vrid: 51, priority: 253, advertisementInterval: 10,
                                                           primaryAddress: ipv4("198.51.100.2"), virtualAddresses: KeepalivedCapture.vips))
        let actions = r.handle(.advertisementReceived(received.advertisement, from: received.ip.source), now: at(second))
        #expect(actions == [.armTimer(.masterDown, deadline: at(second + VRRPRouter.skewTime(priority: 253, masterAdverInterval: 10)))])
    }
}
