import Foundation
import Testing
import VRRP
import TestSupport

/// Wireshark's VRRP dissector as an independent judge of our packets (the issue's acceptance check).
@Suite("VRRP codec: tshark agrees", .enabled(if: FileManager.default.isExecutableFile(atPath: tsharkPath), "needs tshark at \(tsharkPath)"))
struct CodecInteropTests {
    static let source = IPv4Address("198.51.100.1")!

    static var packets: [[UInt8]] {
        let vip = IPAddress.v4(IPv4Address("198.51.100.100")!)
        let v3 = VRRPAdvertisement(version: .v3, vrid: 51, priority: 254, maxAdvertisementInterval: 10, addresses: [vip])
        let v2 = VRRPAdvertisement(version: .v2, vrid: 52, priority: 100, maxAdvertisementInterval: 100,
                                   addresses: [vip, .v4(IPv4Address("198.51.100.101")!)], authentication: .simplePassword("secret"))
        return [
            VRRPCodec.encodeIPv4Packet(v3, source: source, destination: .vrrpMulticast, checksum: .pseudoHeader),
            VRRPCodec.encodeIPv4Packet(v2, source: source, destination: .vrrpMulticast),
            VRRPCodec.encodeIPv4Packet(v3, source: source, destination: .vrrpMulticast, checksum: .messageOnly),
            // Unicast: the pseudo-header carries the peer's address.
            VRRPCodec.encodeIPv4Packet(v3, source: source, destination: IPv4Address("198.51.100.2")!, checksum: .pseudoHeader),
        ]
    }

    /// Fields per packet: version, vrid, priority, checksum status (1 good, 0 bad).
    func dissect(asInV2: Bool) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vrrp-codec-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(pcap(Self.packets)).write(to: file)
        let result = try ProcessRunner.run(tsharkPath, ["-n", "-r", file.path, "-o", "vrrp.v3_checksum_as_in_v2:\(asInV2 ? "TRUE" : "FALSE")",
                                                        "-T", "fields", "-e", "vrrp.version", "-e", "vrrp.virt_rtr_id", "-e", "vrrp.prio",
                                                        "-e", "vrrp.checksum.status"])
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func pseudoHeaderAndV2ChecksumsAreValidForWiresharkDefaults() throws {
        let lines = try dissect(asInV2: false)
        try #require(lines.count == 4)
        #expect(lines[0] == "3\t51\t254\t1")
        #expect(lines[1] == "2\t52\t100\t1")
        #expect(lines[2] == "3\t51\t254\t0", "message-only checksum must fail where the pseudo-header is expected")
        #expect(lines[3] == "3\t51\t254\t1")
    }

    @Test func messageOnlyChecksumIsValidWhenWiresharkExpectsV2Style() throws {
        let lines = try dissect(asInV2: true)
        try #require(lines.count == 4)
        #expect(lines[2] == "3\t51\t254\t1")
    }
}

let tsharkPath = "/usr/bin/tshark"

/// A classic pcap file of raw IPv4 packets (LINKTYPE_IPV4 = 228).
func pcap(_ packets: [[UInt8]]) -> [UInt8] {
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) } }
    func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    var file = le32(0xA1B2_C3D4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(65535) + le32(228)
    for (index, packet) in packets.enumerated() {
        file += le32(UInt32(index)) + le32(0) + le32(UInt32(packet.count)) + le32(UInt32(packet.count)) + packet
    }
    return file
}
