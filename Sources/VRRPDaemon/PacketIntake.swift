import VRRPConfig
import VRRP

/// What a datagram from the raw socket means for one instance: pure, so the receive path is
/// tested (and fuzzed) without sockets or root.
enum PacketIntake: Equatable {
    /// A valid advertisement for the router.
    case advertisement(VRRPAdvertisement, from: IPAddress)
    /// Rejected by the codec's receive checks: the router counts it.
    case rejected(VRRPPacketError, from: IPAddress?)
    /// Dropped before the codec, counted by the daemon under this reason.
    case dropped(reason: String, from: IPAddress)
    /// Not for this instance and not worth counting (a sibling instance's VRID, our own packet).
    case ignored

    struct Context {
        var version: VRRPVersion
        var checksum: VRRPChecksumMode
        var ownAddress: IPAddress
        /// Empty in multicast mode.
        var unicastPeers: [IPAddress]
        var siblingVRIDs: Set<UInt8>
        /// Unicast mode: also require TTL / hop limit 255, so only a peer on this link is heard.
        var unicastTTLCheck = false
    }

    /// An IPv4 datagram as the raw socket delivers it, header included.
    static func classify(_ packet: [UInt8], _ c: Context) -> PacketIntake { classify(packet[...], c) }

    static func classify(_ packet: ArraySlice<UInt8>, _ c: Context) -> PacketIntake {
        let header: IPv4Header
        let payload: ArraySlice<UInt8>
        do {
            (header, payload) = try VRRPCodec.parseIPv4Header(packet)
        } catch {
            return .rejected(error, from: nil)
        }
        return classify(message: payload, ip: header.facts, c)
    }

    /// A VRRP message with the IP facts it came with: parsed from the IPv4 header, or, for IPv6
    /// (whose raw sockets deliver no header), from the source address and ancillary data.
    static func classify(message: ArraySlice<UInt8>, ip: IPLayerFacts, _ c: Context) -> PacketIntake {
        if message.count >= 2, c.siblingVRIDs.contains(message[message.startIndex + 1]) { return .ignored }
        // Our own adverts come back only through a reflecting bridge.
        if ip.source == c.ownAddress { return .ignored }
        let unicast = !c.unicastPeers.isEmpty
        if unicast, !c.unicastPeers.contains(ip.source) {
            return .dropped(reason: "unknown-unicast-peer", from: ip.source)
        }
        // An IPv6 multicast-mode socket also sees protocol 112 sent to our own unicast addresses;
        // RFC 5798 §5.1.2.2 sends adverts to ff02::12 only.
        if !unicast, case .v6 = ip.destination, ip.destination != .v6(.vrrpMulticast) {
            return .dropped(reason: "not-to-vrrp-group", from: ip.source)
        }
        do {
            // Unicast peers may sit behind routers (as keepalived's unicast_peer), so the TTL check
            // is the configuration's choice there; without it a source address is all that is
            // checked, and it can be spoofed from anywhere the packet is routed.
            let ad = try VRRPCodec.decode(message, ip: ip, version: c.version,
                                          checksum: c.checksum, requireTTL255: !unicast || c.unicastTTLCheck)
            return .advertisement(ad, from: ip.source)
        } catch {
            return .rejected(error, from: ip.source)
        }
    }
}
