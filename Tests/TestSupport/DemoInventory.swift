import ClusterupCore

/// The tests' demo cluster, spelled once: cluster `demo`, hosts node1, node2, node3… at
/// 198.51.100.11, .12, .13…, VIP 198.51.100.62 (documentation addresses, RFC 5737).
/// By default every host has every role; a test names other roles per host.
public enum DemoInventory {
    public static let cluster = "demo"
    public static let vip = "198.51.100.62"
    public static let allRoles: Set<Role> = [.etcd, .controlPlane, .lb]
    public static let threeNodes: [Set<Role>] = [allRoles, allRoles, allRoles]

    public static func name(_ index: Int) -> String { "node\(index + 1)" }
    public static func address(_ index: Int) -> String { "198.51.100.\(11 + index)" }

    /// One host per entry of `roles`, as values.
    public static func hosts(_ roles: [Set<Role>] = threeNodes) -> [InventoryHost] {
        roles.enumerated().map { InventoryHost(name: name($0.offset), address: address($0.offset), roles: $0.element) }
    }

    /// The same hosts as inventory lines under `hosts:` (flow style, indented by two spaces).
    public static func hostsYAML(_ roles: [Set<Role>] = threeNodes) -> String {
        roles.enumerated().map { index, roles in
            "  - {name: \(name(index)), address: \(address(index)), roles: [\(roles.sorted().map(\.rawValue).joined(separator: ", "))]}"
        }.joined(separator: "\n")
    }
}
