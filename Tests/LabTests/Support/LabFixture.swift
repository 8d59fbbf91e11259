import Foundation
import Testing
@testable import ClusterupLab

/// What the lab suites share: a lab that is always taken down, and a shell command in a node.
enum LabFixture {
    /// How long a test waits for one of the lab's 4 address blocks: the suites run side by side
    /// and a lab test can hold its block for ten minutes, so a test queues rather than fails.
    static let addressBlockWait = 1800.0

    /// The lab name a test uses: `base`, after `$CLUSTERUP_TEST_LAB_PREFIX` when set, so that
    /// people sharing a machine can run the same suite at once on labs of their own (a lab name
    /// has at most 12 characters: keep the prefix short).
    static func name(_ base: String) -> String {
        (ProcessInfo.processInfo.environment["CLUSTERUP_TEST_LAB_PREFIX"] ?? "") + base
    }

    /// Brings lab `name` up (nodes of `release`; nil: this machine's), runs `body` with its
    /// inventory's path, and always takes the lab down, expecting nothing left of it.
    static func with(_ name: String, nodes: Int, release: DebianRelease? = nil,
                     _ body: (String) async throws -> Void) async throws {
        _ = try await Lab.up(name: name, nodes: nodes, release: release, waitForAddressBlock: LabFixture.addressBlockWait)
        do {
            try await body(try Lab.inventoryPath(name: name))
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }

    /// `command` under sh in a running node, through its init's namespaces (no SSH); its stdout.
    static func shell(_ node: String, _ command: String, lab: String) async throws -> String {
        try await Lab.execute(["sh", "-c", command], on: node, lab: lab).stdout
    }
}
