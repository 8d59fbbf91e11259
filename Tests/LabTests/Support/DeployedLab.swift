import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// A 3-node lab, deployed, for the length of a test: torn down whatever happens.
enum DeployedLab {
    /// The lab's name: the test's own after `$CLUSTERUP_TEST_LAB_PREFIX`, as every lab suite's.
    static func name(_ base: String) -> String { LabFixture.name(base) }

    /// Boots the lab `name` (prefixed as above), deploys its inventory, runs `body` with the inventory's path.
    static func run(_ base: String, inventoryExtra: String? = nil, _ body: (String) async throws -> Void) async throws {
        try await run(lab: name(base), inventoryExtra: inventoryExtra, body)
    }

    /// The same for a lab named `name` as it is: `inventoryExtra` (top-level YAML, such as an `etcd:`
    /// section) is appended to a copy of the lab's inventory, which is then the one deployed and given to `body`.
    static func run(lab name: String, inventoryExtra: String? = nil, _ body: (String) async throws -> Void) async throws {
        // Deploy uploads the static daemon found beside the clusterup binary: say what to build before booting anything.
        _ = try ClusterupBinary.located()
        _ = try BuiltProgram.staticVRRPD.require()
        _ = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        do {
            var inventory = try Lab.inventoryPath(name: name)
            if let inventoryExtra {
                let path = (inventory as NSString).deletingLastPathComponent + "/inventory-extra.yml"
                try (try String(contentsOfFile: inventory, encoding: .utf8) + inventoryExtra).write(toFile: path, atomically: true, encoding: .utf8)
                inventory = path
            }
            let deploy = try await ClusterupBinary.run(["deploy", inventory], limit: 400)
            try #require(deploy.status == 0, "\(deploy.output)")
            try await body(inventory)
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }
}
