import VRRPConfig
import VRRP
import Glibc

/// The last advert sent, encoded once per destination (over IPv4 with its IP header): a Master
/// sends the same bytes every interval until its priority or configuration changes. Keyed by
/// priority alone: every other field of an advert comes from the configuration, which changes
/// only when the instance adopts a new one, and that forgets the cache. (Comparing whole adverts
/// cost ~200 instructions per advert in copies of their arrays.)
struct SentAdvertCache {
    /// -1: nothing cached.
    private var priority = -1
    /// One encoding per destination, in the instance's destination order.
    private(set) var messages: [[UInt8]] = []

    /// Whether `messages` are the encodings of an advert of this priority.
    func holds(priority: UInt8) -> Bool { Int(priority) == self.priority }

    mutating func store(_ messages: [[UInt8]], priority: UInt8) {
        self.priority = Int(priority)
        self.messages = messages
    }

    mutating func forget() { priority = -1 }
}

/// The last datagram accepted as an advert (VRRP message and IP facts) and what it decoded to: a
/// Backup receives the same bytes every interval and need not decode or classify them again.
/// Over IPv4 also the whole datagram it came in: a Master that sends the same header every time
/// (as ours do: DF, Identification 0) is recognised without parsing the header.
/// The lookups are `mutating` though they change nothing: the instance then calls them in place,
/// where a non-mutating call copied the cache out of the instance (a retain and a release per
/// array), +120 instructions per received advert (bench/vrrp/instructions, backup).
struct ReceivedAdvertCache {
    private var message: [UInt8] = []
    private var facts: IPLayerFacts?
    private var datagram: [UInt8]?
    private var advert: VRRPAdvertisement?
    private var from: IPAddress = .v4(IPv4Address(0))

    /// The cached advert when `packet` is byte for byte the IPv4 datagram it came in.
    mutating func advert(inDatagram packet: ArraySlice<UInt8>) -> (VRRPAdvertisement, from: IPAddress)? {
        guard let advert, let datagram, Self.sameBytes(packet, datagram) else { return nil }
        return (advert, from)
    }

    /// The cached advert when `message` is byte for byte its VRRP message and came with the same IP facts.
    mutating func advert(inMessage message: ArraySlice<UInt8>, ip: IPLayerFacts) -> (VRRPAdvertisement, from: IPAddress)? {
        guard let advert, facts == ip, Self.sameBytes(message, self.message) else { return nil }
        return (advert, from)
    }

    /// Remembers an accepted advert; `datagram` is the whole IPv4 datagram (nil for IPv6, whose
    /// raw sockets deliver no header).
    mutating func remember(_ advert: VRRPAdvertisement, from: IPAddress, message: ArraySlice<UInt8>, ip: IPLayerFacts,
                           datagram: ArraySlice<UInt8>?) {
        self.message = Array(message)
        self.facts = ip
        self.advert = advert
        self.from = from
        self.datagram = datagram.map(Array.init)
    }

    /// What was accepted may not be any more (new configuration, a sibling instance's VRID).
    mutating func forget() {
        facts = nil
        advert = nil
        datagram = nil
    }

    /// Byte equality by memcmp: an element-by-element walk cost ~290 instructions per advert.
    private static func sameBytes(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}
