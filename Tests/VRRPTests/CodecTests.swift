import Testing
import VRRP

@Suite("VRRP codec: encoding")
struct CodecEncodingTests {
    let v3 = VRRPAdvertisement(version: .v3, vrid: 51, priority: 254, maxAdvertisementInterval: 100, addresses: [testVIP])

    @Test func v3AdvertisementHasTheRFC5798Layout() {
        let message = VRRPCodec.encode(v3, source: testSource, destination: testGroup)
        #expect(Array(message[0..<6]) == [0x31, 51, 254, 1, 0x00, 0x64])
        #expect(Array(message[8...]) == [198, 51, 100, 100])
    }

    @Test func v3PseudoHeaderChecksumMatchesAKnownVectorAndTheReference() {
        let message = VRRPCodec.encode(v3, source: testSource, destination: testGroup, checksum: .pseudoHeader)
        // 0x9b0a was computed outside Swift (Python, RFC 1071) for this exact packet.
        #expect(checksumField(message) == 0x9B0A)
        let pseudo = ipv4PseudoHeader(testSource, testGroup, length: message.count)
        #expect(checksumField(message) == referenceInternetChecksum(pseudo + withChecksumZeroed(message)))
    }

    @Test func v3MessageOnlyChecksumCoversTheMessageAlone() {
        let message = VRRPCodec.encode(v3, source: testSource, destination: testGroup, checksum: .messageOnly)
        #expect(checksumField(message) == 0xA5CE)
        #expect(checksumField(message) == referenceInternetChecksum(withChecksumZeroed(message)))
    }

    @Test func v3MaxAdverIntUsesTwelveBitsOfCentiseconds() {
        var advert = v3
        advert.maxAdvertisementInterval = 4095
        let message = VRRPCodec.encode(advert, source: testSource, destination: testGroup)
        #expect(message[4] == 0x0F && message[5] == 0xFF)
    }

    @Test func v2AdvertisementCarriesSecondsAuthTypeAndEightOctetsOfPassword() {
        let advert = VRRPAdvertisement(version: .v2, vrid: 51, priority: 254, maxAdvertisementInterval: 100,
                                       addresses: [testVIP], authentication: .simplePassword("secret"))
        let message = VRRPCodec.encode(advert, source: testSource, destination: testGroup)
        #expect(Array(message[0..<6]) == [0x21, 51, 254, 1, 1, 1])
        #expect(Array(message[8..<12]) == [198, 51, 100, 100])
        #expect(Array(message[12...]) == Array("secret".utf8) + [0, 0])
        #expect(checksumField(message) == 0x78E5)
        #expect(checksumField(message) == referenceInternetChecksum(withChecksumZeroed(message)))
    }

    @Test func v2WithoutAuthenticationStillCarriesEightZeroOctets() {
        let advert = VRRPAdvertisement(version: .v2, vrid: 1, priority: 100, maxAdvertisementInterval: 300, addresses: [testVIP])
        let message = VRRPCodec.encode(advert, source: testSource, destination: testGroup)
        #expect(message.count == 8 + 4 + 8)
        #expect(message[4] == 0 && message[5] == 3)
        #expect(Array(message[12...]) == [0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func v2ChecksumIgnoresTheChecksumModeAndTheAddresses() {
        let advert = VRRPAdvertisement(version: .v2, vrid: 1, priority: 100, maxAdvertisementInterval: 100, addresses: [testVIP])
        let a = VRRPCodec.encode(advert, source: testSource, destination: testGroup, checksum: .pseudoHeader)
        let b = VRRPCodec.encode(advert, source: ipv4("198.51.100.2"), destination: ipv4("198.51.100.3"), checksum: .messageOnly)
        #expect(a == b)
    }

    @Test func v3OverIPv6ChecksumIncludesTheIPv6PseudoHeader() {
        let source = ipv6("fe80::1"), group = IPAddress.v6(.vrrpMulticast), vip = ipv6("2001:db8::100")
        let advert = VRRPAdvertisement(version: .v3, vrid: 7, priority: 200, maxAdvertisementInterval: 10, addresses: [vip])
        let message = VRRPCodec.encode(advert, source: source, destination: group)
        #expect(message.count == 8 + 16)
        let length = message.count
        let pseudo = source.bytes + group.bytes + [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, 112]
        #expect(checksumField(message) == referenceInternetChecksum(pseudo + withChecksumZeroed(message)))
    }
}

@Suite("VRRP codec: receive checks (RFC 5798 §7.1)")
struct CodecReceiveCheckTests {
    let advert = VRRPAdvertisement(version: .v3, vrid: 51, priority: 254, maxAdvertisementInterval: 100,
                                   addresses: [testVIP, ipv4("198.51.100.101")])
    var message: [UInt8] { VRRPCodec.encode(advert, source: testSource, destination: testGroup) }
    var pseudo: [UInt8] { ipv4PseudoHeader(testSource, testGroup, length: message.count) }

    func decode(_ bytes: [UInt8], _ ip: IPLayerFacts = facts(), version: VRRPVersion = .v3,
                checksum: VRRPChecksumMode = .pseudoHeader) -> Result<VRRPAdvertisement, VRRPPacketError> {
        Result { () throws(VRRPPacketError) in try VRRPCodec.decode(bytes, ip: ip, version: version, checksum: checksum) }
    }

    @Test func validAdvertisementDecodesToWhatWasEncoded() throws {
        #expect(try decode(message).get() == advert)
    }

    @Test func packetOfAnotherIPProtocolIsRejected() {
        var ip = facts()
        ip.protocolNumber = 51
        #expect(decode(message, ip) == .failure(.notVRRPProtocol(51)))
    }

    @Test func ttlOtherThan255IsRejected() {
        #expect(decode(message, facts(ttl: 254)) == .failure(.ttlNot255(254)))
    }

    @Test func ttlCheckCanBeWaivedForUnicastPeers() throws {
        let decoded = try VRRPCodec.decode(message, ip: facts(ttl: 64), version: .v3, requireTTL255: false)
        #expect(decoded == advert)
    }

    @Test func sourceAndDestinationOfDifferentFamiliesAreRejected() {
        #expect(decode(message, facts(testSource, .v6(.vrrpMulticast))) == .failure(.addressFamilyMismatch(source: .ipv4, destination: .ipv6)))
    }

    @Test func v2OverIPv6IsRejected() {
        #expect(decode(message, facts(ipv6("fe80::1"), .v6(.vrrpMulticast)), version: .v2) == .failure(.v2OverIPv6))
    }

    @Test func messageShorterThanTheFixedHeaderIsRejected() {
        #expect(decode(Array(message[0..<7])) == .failure(.truncated(length: 7)))
        #expect(decode([]) == .failure(.truncated(length: 0)))
    }

    @Test func versionOtherThanConfiguredIsRejected() {
        var bytes = message
        bytes[0] = 0x21
        #expect(decode(rechecksummed(bytes, pseudoHeader: pseudo)) == .failure(.versionMismatch(expected: .v3, received: 2)))
    }

    @Test func typeOtherThanAdvertisementIsRejected() {
        var bytes = message
        bytes[0] = 0x32
        #expect(decode(rechecksummed(bytes, pseudoHeader: pseudo)) == .failure(.notAdvertisement(type: 2)))
    }

    @Test func zeroAddressCountIsRejected() {
        var bytes = Array(message[0..<8])
        bytes[3] = 0
        let header = ipv4PseudoHeader(testSource, testGroup, length: 8)
        #expect(decode(rechecksummed(bytes, pseudoHeader: header)) == .failure(.noAddresses))
    }

    @Test func lengthShorterThanTheAddressCountNeedsIsRejected() {
        let bytes = Array(message.dropLast(4))
        #expect(decode(bytes) == .failure(.lengthMismatch(count: 2, expected: 16, received: 12)))
    }

    @Test func lengthLongerThanTheAddressCountNeedsIsRejected() {
        #expect(decode(message + [0, 0, 0, 0]) == .failure(.lengthMismatch(count: 2, expected: 16, received: 20)))
    }

    @Test func corruptedChecksumIsRejectedWithBothValues() {
        var bytes = message
        bytes[2] = 1  // priority changed in flight
        let expected = referenceInternetChecksum(pseudo + withChecksumZeroed(bytes))
        #expect(decode(bytes) == .failure(.checksumBad(received: checksumField(message), computed: expected)))
    }

    @Test func pseudoHeaderChecksumFailsWhenReceivedWithAnotherDestination() {
        let result = decode(message, facts(testSource, ipv4("198.51.100.2")))
        guard case .failure(.checksumBad) = result else {
            Issue.record("expected a checksum failure, got \(result)")
            return
        }
    }

    @Test func checksumModesDoNotAcceptEachOther() {
        let messageOnly = VRRPCodec.encode(advert, source: testSource, destination: testGroup, checksum: .messageOnly)
        #expect(throws: VRRPPacketError.self) { try VRRPCodec.decode(messageOnly, ip: facts(), version: .v3, checksum: .pseudoHeader) }
        #expect(throws: VRRPPacketError.self) { try VRRPCodec.decode(message, ip: facts(), version: .v3, checksum: .messageOnly) }
        #expect(decode(messageOnly, checksum: .messageOnly) == .success(advert))
    }

    @Test func v3ReservedBitsAreIgnoredOnReceipt() throws {
        var bytes = message
        bytes[4] |= 0xF0
        let decoded = try decode(rechecksummed(bytes, pseudoHeader: pseudo)).get()
        #expect(decoded.maxAdvertisementInterval == 100)
    }

    @Test func v2DecodesAuthenticationAndIntervalInSeconds() throws {
        let v2 = VRRPAdvertisement(version: .v2, vrid: 9, priority: 100, maxAdvertisementInterval: 200,
                                   addresses: [testVIP], authentication: .simplePassword("pw"))
        let bytes = VRRPCodec.encode(v2, source: testSource, destination: testGroup)
        let decoded = try decode(bytes, version: .v2).get()
        #expect(decoded == v2)
        #expect(decoded.maxAdvertisementInterval == 200)
        #expect(decoded.authentication == .simplePassword("pw"))
    }

    @Test func v2UnknownAuthTypeIsDecodedForTheStateMachineToReject() throws {
        var bytes = VRRPCodec.encode(VRRPAdvertisement(version: .v2, vrid: 9, priority: 100, maxAdvertisementInterval: 100,
                                                       addresses: [testVIP]), source: testSource, destination: testGroup)
        bytes[4] = 2
        let decoded = try decode(rechecksummed(bytes), version: .v2).get()
        #expect(decoded.authentication.authType == 2)
    }

    @Test func everyErrorKindHasADistinctStableName() {
        let names = VRRPPacketError.Kind.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
    }
}
