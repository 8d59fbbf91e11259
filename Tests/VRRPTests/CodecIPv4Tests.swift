import Testing
import VRRP

@Suite("VRRP codec: whole IPv4 packets")
struct CodecIPv4Tests {
    let advert = VRRPAdvertisement(version: .v3, vrid: 51, priority: 200, maxAdvertisementInterval: 10, addresses: [testVIP])
    var packet: [UInt8] {
        VRRPCodec.encodeIPv4Packet(advert, source: IPv4Address("198.51.100.1")!, destination: .vrrpMulticast)
    }

    func decode(_ bytes: [UInt8]) -> Result<ReceivedAdvertisement, VRRPPacketError> {
        Result { () throws(VRRPPacketError) in try VRRPCodec.decodeIPv4Packet(bytes, version: .v3) }
    }

    @Test func builtPacketHasTTL255ProtocolVRRPAndAValidHeaderChecksum() {
        let bytes = packet
        #expect(bytes[0] == 0x45)
        #expect(bytes[8] == 255 && bytes[9] == 112)
        #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count)
        #expect(referenceInternetChecksum(Array(bytes[0..<20])) == 0)
    }

    @Test func dontFragmentSetsOnlyTheDFBitAndKeepsTheHeaderChecksumValid() throws {
        let df = VRRPCodec.encodeIPv4Packet(advert, source: IPv4Address("198.51.100.1")!, destination: .vrrpMulticast,
                                            dontFragment: true)
        #expect(df[6] == 0x40 && df[7] == 0)
        #expect(packet[6] == 0 && packet[7] == 0)
        #expect(referenceInternetChecksum(Array(df[0..<20])) == 0)
        #expect(Array(df[20...]) == Array(packet[20...]))
        #expect(try decode(df).get().advertisement == advert)
    }

    @Test func wholePacketDecodesWithItsIPFacts() throws {
        let received = try decode(packet).get()
        #expect(received.advertisement == advert)
        #expect(received.ip == IPLayerFacts(source: testSource, destination: testGroup, ttl: 255, protocolNumber: 112))
    }

    @Test func ethernetPaddingAfterTheTotalLengthIsIgnored() throws {
        #expect(try decode(packet + Array(repeating: 0, count: 14)).get().advertisement == advert)
    }

    @Test func headerWithOptionsIsSkippedByItsLength() throws {
        var bytes = packet
        bytes.insert(contentsOf: [1, 1, 1, 0], at: 20)  // NOP NOP NOP EOL
        bytes[0] = 0x46
        let total = bytes.count
        bytes[2] = UInt8(total >> 8)
        bytes[3] = UInt8(total & 0xFF)
        bytes[10] = 0
        bytes[11] = 0
        let sum = referenceInternetChecksum(Array(bytes[0..<24]))
        bytes[10] = UInt8(sum >> 8)
        bytes[11] = UInt8(sum & 0xFF)
        #expect(try decode(bytes).get().advertisement == advert)
    }

    /// Recomputes the header checksum after a deliberate change, so only the check under test fails.
    func withHeader(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = packet
        change(&bytes)
        bytes[10] = 0
        bytes[11] = 0
        let sum = referenceInternetChecksum(Array(bytes[0..<20]))
        bytes[10] = UInt8(sum >> 8)
        bytes[11] = UInt8(sum & 0xFF)
        return bytes
    }

    @Test func packetShorterThanAnIPv4HeaderIsRejected() {
        #expect(decode(Array(packet[0..<19])) == .failure(.ipv4HeaderTruncated(length: 19)))
    }

    @Test func ipv6VersionNibbleIsRejected() {
        #expect(decode(withHeader { $0[0] = 0x65 }) == .failure(.notIPv4(version: 6)))
    }

    @Test func headerLengthBelowTwentyIsRejected() {
        #expect(decode(withHeader { $0[0] = 0x44 }) == .failure(.ipv4HeaderLengthInvalid(headerLength: 16)))
    }

    @Test func totalLengthBeyondTheReceivedOctetsIsRejected() {
        let bytes = withHeader { $0[3] &+= 1 }
        #expect(decode(bytes) == .failure(.ipv4TotalLengthInvalid(totalLength: bytes.count + 1, received: bytes.count)))
    }

    @Test func badHeaderChecksumIsRejected() {
        var bytes = packet
        bytes[10] ^= 0xFF
        #expect(decode(bytes) == .failure(.ipv4HeaderChecksumBad))
    }

    @Test func headerChecksumIsSkippedOnlyWhenAskedAndTheOtherChecksStillApply() throws {
        var bytes = packet
        bytes[10] ^= 0xFF
        let (header, payload) = try VRRPCodec.parseIPv4Header(bytes[...], verifyingChecksum: false)
        #expect(header.source == IPv4Address("198.51.100.1")!)
        #expect(Array(payload) == Array(packet[20...]))
        bytes[6] |= 0x20  // more fragments
        #expect(throws: VRRPPacketError.ipv4Fragment) { try VRRPCodec.parseIPv4Header(bytes[...], verifyingChecksum: false) }
        #expect(throws: VRRPPacketError.ipv4HeaderChecksumBad) { try VRRPCodec.parseIPv4Header(bytes[...]) }
    }

    @Test func fragmentIsRejected() {
        #expect(decode(withHeader { $0[6] = 0x20 }) == .failure(.ipv4Fragment))
        #expect(decode(withHeader { $0[7] = 0x01 }) == .failure(.ipv4Fragment))
    }

    @Test func ttlFromTheHeaderReachesTheVRRPCheck() {
        #expect(decode(withHeader { $0[8] = 1 }) == .failure(.ttlNot255(1)))
    }

    @Test func protocolFromTheHeaderReachesTheVRRPCheck() {
        #expect(decode(withHeader { $0[9] = 17 }) == .failure(.notVRRPProtocol(17)))
    }
}

@Suite("VRRP codec: addresses and dump")
struct CodecAddressAndDumpTests {
    @Test func ipv4TextRoundTrips() {
        #expect(IPv4Address("198.51.100.7")?.description == "198.51.100.7")
        for bad in ["198.51.100", "198.51.100.256", "a.b.c.d", "1..2.3", "1.2.3.4.5", "", "01234.1.1.1"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    @Test func ipv6TextIsParsedAndPrintedInRFC5952Form() {
        #expect(IPv6Address("ff02::12") == .vrrpMulticast)
        #expect(IPv6Address("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPv6Address("::")?.description == "::")
        #expect(IPv6Address("fe80::1")?.description == "fe80::1")
        for bad in ["1:2:3:4:5:6:7", "1::2::3", "12345::", "g::1", ":::"] {
            #expect(IPv6Address(bad) == nil, "\(bad)")
        }
    }

    @Test func addressesCompareNumerically() {
        #expect(ipv4("198.51.100.9") < ipv4("198.51.100.10"))
        #expect(ipv6("fe80::9") < ipv6("fe80::10"))
    }

    @Test func dumpNamesTheFieldsButNeverThePassword() {
        let advert = VRRPAdvertisement(version: .v2, vrid: 51, priority: 0, maxAdvertisementInterval: 100,
                                       addresses: [testVIP], authentication: .simplePassword("hunter2"))
        let received = ReceivedAdvertisement(ip: facts(), advertisement: advert)
        let text = VRRPCodec.dump(received)
        #expect(text == "198.51.100.1 > 224.0.0.18 ttl 255: VRRPv2 advert vrid 51 prio 0 (resign) int 100cs (1.00s) addrs [198.51.100.100] auth simple")
        #expect(!text.contains("hunter2"))
    }

    @Test func hexDumpShowsTheFirstOctets() {
        #expect(VRRPCodec.hexDump([0x31, 0x0A, 0xFF]) == "31 0a ff")
        #expect(VRRPCodec.hexDump(Array(repeating: 0, count: 5), limit: 2) == "00 00 … (5 octets)")
    }
}
