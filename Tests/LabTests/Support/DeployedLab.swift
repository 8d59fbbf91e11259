import Foundation
import Testing
@testable import ClusterupLab

/// A 3-node lab, deployed, for the length of a test: torn down whatever happens.
enum DeployedLab {
    /// The lab's name: the test's own after `$CLUSTERUP_TEST_LAB_PREFIX`, as every lab suite's.
    static func name(_ base: String) -> String { LabFixture.name(base) }

    /// Boots the lab `name` (prefixed as above), deploys its inventory, runs `body` with the inventory's path.
    static func run(_ base: String, _ body: (String) async throws -> Void) async throws {
        let name = name(base)
        _ = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        let inventory = try Lab.inventoryPath(name: name)
        do {
            let deploy = try await ClusterupBinary.run(["deploy", inventory], limit: 400)
            #expect(deploy.status == 0, "\(deploy.output)")
            try await body(inventory)
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }
}
