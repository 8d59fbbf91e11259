import VRRP

/// What a datagram from the raw socket means for one instance: pure, so the receive path is
/// tested (and fuzzed) without sockets or root.
enum PacketIntake: Equatable {
    /// A valid advertisement for the router.
    case advertisement(VRRPAdvertisement, from: IPv4Address)
    /// Rejected by the codec's receive checks: the router counts it.
    case rejected(VRRPPacketError, from: IPv4Address?)
    /// Dropped before the codec, counted by the daemon under this reason.
    case dropped(reason: String, from: IPv4Address)
    /// Not for this instance and not worth counting (a sibling instance's VRID, our own packet).
    case ignored

    struct Context {
        var version: VRRPVersion
        var checksum: VRRPChecksumMode
        var ownAddress: IPv4Address
        /// Empty in multicast mode.
        var unicastPeers: [IPv4Address]
        var siblingVRIDs: Set<UInt8>
    }

    static func classify(_ packet: [UInt8], _ c: Context) -> PacketIntake { classify(packet[...], c) }

    static func classify(_ packet: ArraySlice<UInt8>, _ c: Context) -> PacketIntake {
        let header: IPv4Header
        let payload: ArraySlice<UInt8>
        do {
            (header, payload) = try VRRPCodec.parseIPv4Header(packet)
        } catch {
            return .rejected(error, from: nil)
        }
        if payload.count >= 2, c.siblingVRIDs.contains(payload[payload.startIndex + 1]) { return .ignored }
        // Our own adverts come back only through a reflecting bridge.
        if header.source == c.ownAddress { return .ignored }
        let unicast = !c.unicastPeers.isEmpty
        if unicast, !c.unicastPeers.contains(header.source) {
            return .dropped(reason: "unknown-unicast-peer", from: header.source)
        }
        do {
            // Unicast peers may sit behind routers (as keepalived's unicast_peer): no TTL check.
            let ad = try VRRPCodec.decode(payload, ip: header.facts, version: c.version,
                                          checksum: c.checksum, requireTTL255: !unicast)
            return .advertisement(ad, from: header.source)
        } catch {
            return .rejected(error, from: header.source)
        }
    }
}
