import Testing
import VRRP
@testable import VRRPConfig
@testable import VRRPDaemon

/// IPv6 instances: configuration, the receive path, link-local selection and the unsolicited
/// neighbour advertisement, all without sockets.
@Suite struct DaemonIPv6ConfigTests: DaemonConfigParsing {
    static let v6 = """
        instances:
          - name: api6
            interface: eth0
            vrid: 61
            advert_interval: 100ms
            vips: [2001:db8::62/64, 2001:db8::63]
        """

    @Test func ipv6VIPsDecodeAndAHostAddressIsSlash128() throws {
        let i = try #require(try parse(Self.v6).instances.first)
        #expect(i.family == .ipv6)
        #expect(i.vips == [VirtualAddress(address: .v6(IPv6Address("2001:db8::62")!), prefixLength: 64),
                           VirtualAddress(address: .v6(IPv6Address("2001:db8::63")!), prefixLength: 128)])
        #expect(i.vips.map(\.description) == ["2001:db8::62/64", "2001:db8::63/128"])
    }

    @Test func mixingFamiliesInOneInstanceNamesTheOddVIP() {
        let e = error(Self.v6.replacingOccurrences("2001:db8::63", "198.51.100.62"))
        #expect(e?.path == "instances[0].vips[1]")
        #expect(e?.message.contains("one address family") == true)
    }

    @Test func ipv6NeedsVersion3() {
        let e = error(Self.v6.replacingOccurrences("advert_interval: 100ms", "version: 2"))
        #expect(e?.path == "instances[0].version")
        #expect(e?.message.contains("IPv6 VIPs need version 3") == true)
    }

    @Test func ipv6UnicastPeersAreAcceptedAndAnIPv4PeerIsNamed() throws {
        let peers = try parse(Self.v6 + "\n    unicast_peers: [fe80::2, 2001:db8::12]\n").instances[0].unicastPeers
        #expect(peers == [.v6(IPv6Address("fe80::2")!), .v6(IPv6Address("2001:db8::12")!)])
        let e = error(Self.v6 + "\n    unicast_peers: [fe80::2, 198.51.100.12]\n")
        #expect(e?.path == "instances[0].unicast_peers[1]")
        #expect(e?.message.contains("is IPv4 but the instance's VIPs are IPv6") == true)
        #expect(error(Self.v6 + "\n    unicast_src: 198.51.100.11\n    unicast_peers: [fe80::2]\n")?.path == "instances[0].unicast_src")
    }

    @Test func anIPv6InstanceTakesNoChecksumMode() {
        #expect(error(Self.v6 + "\n    checksum: message-only\n")?.path == "instances[0].checksum")
    }

    @Test func prefixBeyond128AndNonUnicastVIPsAreRejected() {
        #expect(error(Self.v6.replacingOccurrences("/64", "/129"))?.message.contains("1...128") == true)
        #expect(error(Self.v6.replacingOccurrences("2001:db8::62/64", "ff02::1"))?.message.contains("cannot be a virtual address") == true)
        #expect(error(Self.v6.replacingOccurrences("2001:db8::62/64", "::1"))?.path == "instances[0].vips[0]")
        #expect(error(Self.v6.replacingOccurrences("2001:db8::62/64", "::"))?.path == "instances[0].vips[0]")
        #expect(error(Self.v6.replacingOccurrences("2001:db8::62/64", "2001:db8:::62"))?.message.contains("IPv4 or IPv6 address") == true)
    }

    @Test func oneDaemonRunsAnIPv4AndAnIPv6InstanceSideBySide() throws {
        let config = try parse(Self.v6 + """

              - name: api4
                interface: eth0
                vrid: 51
                vips: [198.51.100.62/26]
            """)
        #expect(config.instances.map(\.family) == [.ipv6, .ipv4])
        #expect(Instance.destinations(config.instances[0]) == [.v6(.vrrpMulticast)])
        #expect(Instance.destinations(config.instances[1]) == [.v4(.vrrpMulticast)])
    }

    @Test func theSameIPv6VIPInTwoInstancesIsRejected() {
        let e = error(Self.v6 + """

              - name: other
                interface: eth1
                vrid: 62
                vips: ["2001:db8:0::62/64"]
            """)
        #expect(e?.path == "instances[1].vips")
    }

    @Test func anIPv6InstanceMakesAValidRouterWithItsLinkLocalAsPrimary() throws {
        let c = try parse(Self.v6).instances[0]
        let ll = IPAddress.v6(IPv6Address("fe80::1")!)
        let router = try VRRPRouter(configuration: Instance.routerConfiguration(c, primary: ll))
        #expect(router.state == .initialize)
    }
}

@Suite struct DaemonIPv6IntakeTests {
    static let us = IPAddress.v6(IPv6Address("fe80::201")!)
    static let peer = IPAddress.v6(IPv6Address("fe80::202")!)
    static let group = IPAddress.v6(.vrrpMulticast)

    let advert = VRRPAdvertisement(version: .v3, vrid: 61, priority: 200, maxAdvertisementInterval: 10,
                                   addresses: [.v6(IPv6Address("2001:db8::62")!)])

    func message(from source: IPAddress = peer, to destination: IPAddress = group) -> [UInt8] {
        VRRPCodec.encode(advert, source: source, destination: destination)
    }

    func facts(from source: IPAddress = peer, to destination: IPAddress = group, hopLimit: UInt8 = 255) -> IPLayerFacts {
        IPLayerFacts(source: source, destination: destination, ttl: hopLimit)
    }

    func context(unicastPeers: [IPAddress] = []) -> PacketIntake.Context {
        PacketIntake.Context(version: .v3, checksum: .pseudoHeader, ownAddress: Self.us,
                             unicastPeers: unicastPeers, siblingVRIDs: [])
    }

    func classify(_ m: [UInt8], _ f: IPLayerFacts, _ c: PacketIntake.Context? = nil) -> PacketIntake {
        PacketIntake.classify(message: m[...], ip: f, c ?? context())
    }

    @Test func aValidIPv6AdvertGoesToTheRouter() {
        #expect(classify(message(), facts()) == .advertisement(advert, from: Self.peer))
    }

    @Test func aHopLimitOtherThan255IsRejectedForTheRouterToCount() {
        guard case .rejected(let e, let from) = classify(message(), facts(hopLimit: 254)) else {
            Issue.record("not rejected")
            return
        }
        #expect(e.kind == .ttlNot255)
        #expect(from == Self.peer)
    }

    @Test func aChecksumOverTheWrongSourceIsRejected() {
        // Summed as if sent from another link-local address: the IPv6 pseudo-header covers the source.
        let m = message(from: .v6(IPv6Address("fe80::99")!))
        guard case .rejected(let e, _) = classify(m, facts()) else {
            Issue.record("not rejected")
            return
        }
        #expect(e.kind == .checksumBad)
    }

    @Test func anAdvertNotSentToTheVRRPGroupIsDroppedInMulticastMode() {
        let ours = IPAddress.v6(IPv6Address("2001:db8::201")!)
        #expect(classify(message(to: ours), facts(to: ours)) == .dropped(reason: "not-to-vrrp-group", from: Self.peer))
    }

    @Test func ourOwnIPv6AdvertIsIgnored() {
        #expect(classify(message(from: Self.us), facts(from: Self.us)) == .ignored)
    }

    @Test func unicastModeTakesIPv6PeersOnly() {
        let ours = IPAddress.v6(IPv6Address("2001:db8::201")!)
        let stranger = IPAddress.v6(IPv6Address("fe80::203")!)
        let c = context(unicastPeers: [Self.peer])
        #expect(classify(message(to: ours), facts(to: ours), c) == .advertisement(advert, from: Self.peer))
        #expect(classify(message(from: stranger, to: ours), facts(from: stranger, to: ours), c)
                == .dropped(reason: "unknown-unicast-peer", from: stranger))
    }
}

@Suite struct LinkLocalChoiceTests {
    static let ll = IPv6Address("fe80::1")!
    static let ll2 = IPv6Address("fe80::2")!
    static let global = IPv6Address("2001:db8::1")!

    @Test func theFirstLinkLocalThatPassedDADIsChosenOverGlobalAddresses() {
        #expect(LinkLocalChoice([(Self.global, 0), (Self.ll, LinkLocalChoice.flagTentative), (Self.ll2, 0x80)]) == .usable(Self.ll2))
    }

    @Test func onlyTentativeLinkLocalsMeanWaitForDAD() {
        #expect(LinkLocalChoice([(Self.global, 0), (Self.ll, LinkLocalChoice.flagTentative)]) == .tentative)
    }

    @Test func aLinkLocalThatFailedDADIsNotUsed() {
        let failed = LinkLocalChoice.flagDADFailed | LinkLocalChoice.flagTentative
        #expect(LinkLocalChoice([(Self.ll, failed)]) == .duplicate)
    }

    @Test func noLinkLocalIsSaidSo() {
        #expect(LinkLocalChoice([(Self.global, 0)]) == .none)
        #expect(LinkLocalChoice([]) == .none)
    }

    @Test func linkLocalMeansFe80Slash10() {
        #expect(IPv6Address("fe80::1")!.isLinkLocal)
        #expect(IPv6Address("febf::1")!.isLinkLocal)
        #expect(!IPv6Address("fec0::1")!.isLinkLocal)
        #expect(!IPv6Address("2001:db8::1")!.isLinkLocal)
    }
}

@Suite struct UnsolicitedNeighbourAdvertisementTests {
    static let target = IPv6Address("2001:db8::62")!
    static let mac: [UInt8] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]
    let message = UnsolicitedNeighbourAdvertisement.message(target: target, mac: mac)

    @Test func itIsANeighbourAdvertisementOf32Octets() {
        #expect(message.count == 32)
        #expect(message[0] == 136)  // RFC 4861 §4.4
        #expect(message[1] == 0)
    }

    @Test func overrideIsSetAndRouterAndSolicitedAreClear() {
        #expect(message[4] & 0x20 != 0)  // O
        #expect(message[4] & 0x80 == 0)  // R
        #expect(message[4] & 0x40 == 0)  // S
        #expect(message[4] & 0x1F == 0 && message[5...7].allSatisfy { $0 == 0 })
    }

    @Test func theTargetIsTheVIP() {
        #expect(IPv6Address(bytes: message[8..<24]) == Self.target)
    }

    @Test func theTargetLinkLayerOptionCarriesTheInterfaceMAC() {
        #expect(Array(message[24..<26]) == [2, 1])  // type 2, 1 × 8 octets
        #expect(Array(message[26..<32]) == Self.mac)
    }

    @Test func itGoesToAllNodes() {
        #expect(UnsolicitedNeighbourAdvertisement.destination.description == "ff02::1")
    }

    @Test func theChecksumTheKernelWouldSetMakesTheMessageSumToZero() {
        let source = IPv6Address("fe80::1")!
        let sum = UnsolicitedNeighbourAdvertisement.checksum(message, source: source)
        var filled = message
        filled[2] = UInt8(sum >> 8)
        filled[3] = UInt8(sum & 0xFF)
        #expect(UnsolicitedNeighbourAdvertisement.checksum(filled, source: source) == 0)
        // The pseudo-header covers the source: another sender gives another checksum.
        #expect(UnsolicitedNeighbourAdvertisement.checksum(message, source: IPv6Address("fe80::2")!) != sum)
    }
}

@Suite struct SourceAddressStateTests {
    static let ll = IPv6Address("fe80::1")!
    static let vip = IPv6Address("2001:db8::62")!

    @Test func aSourcePastDADIsUsable() {
        #expect(SourceAddressState(Self.ll, among: [(Self.vip, 0x02), (Self.ll, 0x80)]) == .usable)
    }

    @Test func aTentativeSourceIsNotUsableYet() {
        #expect(SourceAddressState(Self.ll, among: [(Self.ll, LinkLocalChoice.flagTentative)]) == .tentative)
    }

    @Test func aSourceThatFailedDADIsSaidSo() {
        let failed = LinkLocalChoice.flagDADFailed | LinkLocalChoice.flagTentative
        #expect(SourceAddressState(Self.ll, among: [(Self.ll, failed)]) == .dadFailed)
    }

    @Test func aSourceNoLongerOnTheInterfaceIsMissing() {
        #expect(SourceAddressState(Self.ll, among: [(Self.vip, 0), (IPv6Address("fe80::2")!, 0)]) == .missing)
    }
}
