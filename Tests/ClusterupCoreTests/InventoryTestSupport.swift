import Foundation
@testable import ClusterupCore

/// A temporary directory for files a test needs; call `remove()` when done.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "clusterup-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` (private to the user by default, like a key file).
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Parses inventory text as if it were `inv.yml` in `directory`, with a fixed home directory.
func parseInventory(_ yaml: String, directory: String = "/srv/cluster", home: String = "/home/op") throws(ClusterupError) -> Inventory {
    let loader = InventoryLoader(environment: [:], homeDirectory: home, currentDirectory: directory)
    return try loader.parse(yaml: yaml, path: "\(directory)/inv.yml", displayName: "inv.yml")
}

/// The error parsing `yaml` throws, or nil.
func parseError(_ yaml: String, directory: String = "/srv/cluster") -> ClusterupError? {
    do {
        _ = try parseInventory(yaml, directory: directory)
        return nil
    } catch {
        return error
    }
}

/// A minimal valid inventory with the given extra top-level text appended.
func minimalInventory(hosts: String = """
      - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane]}
    """, extra: String = "") -> String {
    """
    cluster: demo
    hosts:
    \(hosts)
    \(extra)
    """
}
