import ClusterupCore

/// Where a lab lives in 198.51.100.0/24 (TEST-NET-2, RFC 5737): lab block `k` is the /26 starting at
/// `.64k`; the host takes `.64k+1`, node `i` takes `.64k+10+i`, the VIP takes `.64k+62`.
public struct AddressPlan: Hashable, Sendable, Codable {
    public static let blockCount = 4
    public static let maxNodes = 50
    public static let prefixLength = 26
    static let networkPrefix = "198.51.100."

    public let block: Int

    public init(block: Int) throws {
        guard (0..<Self.blockCount).contains(block) else {
            throw ClusterupError.badInput("lab address block \(block) is outside 0..<\(Self.blockCount)")
        }
        self.block = block
    }

    var base: Int { 64 * block }

    public var network: String { "\(Self.networkPrefix)\(base)/\(Self.prefixLength)" }
    public var hostAddress: String { "\(Self.networkPrefix)\(base + 1)" }
    public var vipAddress: String { "\(Self.networkPrefix)\(base + 62)" }

    public func nodeAddress(_ index: Int) -> String {
        precondition((1...Self.maxNodes).contains(index), "node index \(index) outside 1...\(Self.maxNodes)")
        return "\(Self.networkPrefix)\(base + 10 + index)"
    }

    /// A VRID per block, so labs never share one even if their links were ever joined.
    public var vrid: Int { 51 + block }

    /// The block an address of 198.51.100.0/24 belongs to, if any.
    public static func block(containing address: String) -> Int? {
        guard address.hasPrefix(networkPrefix), let last = Int(address.dropFirst(networkPrefix.count)),
              (0...255).contains(last) else { return nil }
        return last / 64
    }

    /// The lowest block nobody uses, or an error naming the labs in the way.
    public static func firstFreeBlock(used: [Int: String]) throws -> AddressPlan {
        guard let free = (0..<blockCount).first(where: { used[$0] == nil }) else { throw exhausted(used: used) }
        return try AddressPlan(block: free)
    }

    public static func exhausted(used: [Int: String]) -> ClusterupError {
        let owners = used.sorted { $0.key < $1.key }.map { "\($0.value) (block \($0.key))" }
        return ClusterupError.badInput(
            "all \(blockCount) lab address blocks of 198.51.100.0/24 are in use: \(owners.joined(separator: ", "))",
            hint: "remove a lab with `clusterup lab down --name NAME`")
    }

    public static func validateNodeCount(_ count: Int) throws {
        guard (1...maxNodes).contains(count) else {
            throw ClusterupError.badInput("a lab has 1 to \(maxNodes) nodes, not \(count)", at: "--nodes",
                                          hint: "each lab is a /26 with room for \(maxNodes) nodes")
        }
    }
}
