import ClusterupCore

/// A lab's name: it names the bridge (`cu-<name>`), the state directory and the inventory's cluster.
///
/// Interface names are at most 15 bytes (IFNAMSIZ - 1), so `cu-` leaves 12 characters.
public struct LabName: Hashable, Sendable, CustomStringConvertible, Codable {
    public static let maxLength = 12
    public let value: String

    public init(_ value: String) throws {
        let allowed = value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
        guard !value.isEmpty, value.count <= Self.maxLength, allowed,
              let first = value.utf8.first, first >= 0x61 && first <= 0x7a, value.utf8.last != 0x2d
        else {
            throw ClusterupError.badInput(
                "invalid lab name '\(value)'", at: "--name",
                hint: "use 1-\(Self.maxLength) characters of a-z, 0-9 and '-', starting with a letter, not ending with '-'")
        }
        self.value = value
    }

    public var description: String { value }

    /// The lab's bridge on the host.
    public var bridge: String { "cu-\(value)" }

    /// The systemd machine name of node `index` (1-based).
    ///
    /// nspawn names the host side of the node's veth `vb-<machine>`, which must fit 15 bytes, and the
    /// names must differ across labs because all veths live in the host's namespace. Short lab names
    /// are used as they are (`lab-n3`); longer ones keep 4 characters plus a hash of the full name,
    /// with a different separator so the two forms can never produce the same name.
    public func machineName(node index: Int) -> String {
        if value.count <= 8 { return "\(value)-n\(index)" }
        return "\(value.prefix(4))\(hashTag)-h\(index)"
    }

    /// Whether `machine` is a machine name this lab could have given to one of its nodes.
    public func ownsMachineName(_ machine: String) -> Bool {
        (1...AddressPlan.maxNodes).contains { machineName(node: $0) == machine }
    }

    /// Four hex digits of FNV-1a over the name: stable across runs and platforms (unlike `hashValue`).
    var hashTag: String {
        var hash: UInt32 = 0x811c_9dc5
        for byte in value.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        let folded = (hash >> 16) ^ (hash & 0xffff)
        let hex = String(folded, radix: 16)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }
}
