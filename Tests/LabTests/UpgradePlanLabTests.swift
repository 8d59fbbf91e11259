import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// `clusterup upgrade plan` against a deployed 3-node lab: the built binary, the lab's inventory
/// with its control_plane.version edited. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab, deploys onto it and plans upgrades"))
struct UpgradePlanLabTests {
    func clusterup(_ arguments: [String]) async throws -> ClusterupBinary.Run {
        try await ClusterupBinary.run(arguments, limit: 240)
    }

    /// The lab's inventory with control_plane.version set to `version`, written beside it.
    func inventory(_ original: String, controlPlaneVersion version: String) throws -> String {
        let edited = original.replacingOccurrences(of: "inventory.yml", with: "upgrade-\(version).yml")
        let text = try String(contentsOfFile: original, encoding: .utf8)
        let declared = "control_plane:\n  version: \(LabFiles.standinVersion)\n"
        #expect(text.contains(declared))
        try text.replacingOccurrences(of: declared, with: "control_plane:\n  version: \(version)\n")
            .write(toFile: edited, atomically: true, encoding: .utf8)
        return edited
    }

    @Test func planFollowsTheSkewPolicyFromWhatTheHostsRun() async throws {
        let name = "upplan"
        _ = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        let original = try Lab.inventoryPath(name: name)
        let nodes = ["node1", "node2", "node3"]
        do {
            let deploy = try await clusterup(["deploy", original])
            #expect(deploy.status == 0, "\(deploy.output)")

            // The inventory as deployed: every host is at its declared versions.
            let unchanged = try await clusterup(["upgrade", "plan", original])
            #expect(unchanged.status == 0, "\(unchanged.output)")
            #expect(unchanged.output.contains("nothing to upgrade"), "\(unchanged.output)")
            for node in nodes {
                let row = unchanged.output.split(separator: "\n").first { $0.hasPrefix("kube-apiserver") && $0.contains(" \(node) ") }
                #expect(row?.contains("v1.31.2") == true && row?.contains("up to date") == true, "\(unchanged.output)")
            }
            // Debian's packages pin no version: said, not guessed.
            #expect(unchanged.output.contains("etcd: wanted version not declared (package etcd-server with no version pinned"), "\(unchanged.output)")

            // One minor up: the apiservers one host at a time, drained around their restart, then the controllers.
            let oneMinor = try await clusterup(["upgrade", "plan", try inventory(original, controlPlaneVersion: "v1.32.0"), "--output", "json"])
            #expect(oneMinor.status == 0, "\(oneMinor.output)")
            let lines = oneMinor.output.split(separator: "\n", omittingEmptySubsequences: false)
            let start = try #require(lines.firstIndex(of: "{")), end = try #require(lines.lastIndex(of: "}"))
            let plan = try #require(try JSONSerialization.jsonObject(with: Data(lines[start...end].joined(separator: "\n").utf8)) as? [String: Any])
            let steps = try #require(plan["steps"] as? [[String: Any]])
            let order = steps.map { "\($0["host"] as? String ?? "?") \($0["component"] as? String ?? "?") \($0["action"] as? String ?? "?")" }
            let expected = nodes.flatMap { ["\($0) kube-apiserver drain", "\($0) kube-apiserver upgrade", "\($0) kube-apiserver undrain"] }
                + nodes.flatMap { ["\($0) kube-controller-manager upgrade", "\($0) kube-scheduler upgrade"] }
            #expect(order == expected, "\(oneMinor.output)")
            #expect(steps.filter { $0["action"] as? String == "upgrade" }.allSatisfy { $0["from"] as? String == "v1.31.2" && $0["to"] as? String == "v1.32.0" })
            #expect(plan["nothing_to_upgrade"] as? Bool == false)
            // Read over SSH and etcd's TLS: one of the nodes leads etcd, one holds the VIP.
            #expect(nodes.contains(plan["etcd_leader"] as? String ?? ""), "\(oneMinor.output)")
            #expect(nodes.contains(plan["vip_holder"] as? String ?? ""), "\(oneMinor.output)")

            // deploy does not change versions: it refuses, points at upgrade, and changes nothing.
            let deployBumped = try await clusterup(["deploy", try inventory(original, controlPlaneVersion: "v1.32.0")])
            #expect(deployBumped.status == 2, "\(deployBumped.output)")
            #expect(deployBumped.output.contains("kube-apiserver: node1, node2, node3 run v1.31.2; control_plane.version asks for v1.32.0"), "\(deployBumped.output)")
            #expect(deployBumped.output.contains("clusterup upgrade plan"), "\(deployBumped.output)")

            // Two minors up: refused, naming the rule and the versions.
            let twoMinors = try await clusterup(["upgrade", "plan", try inventory(original, controlPlaneVersion: "v1.33.0")])
            #expect(twoMinors.status == 2, "\(twoMinors.output)")
            #expect(twoMinors.output.contains("kube-apiserver v1.31.2 → v1.33.0"), "\(twoMinors.output)")
            #expect(twoMinors.output.contains("kube-apiserver-one-minor"), "\(twoMinors.output)")
            #expect(twoMinors.output.contains("go through 1.32 first"), "\(twoMinors.output)")
            #expect(twoMinors.output.contains("control_plane.version"), "\(twoMinors.output)")

            // A plan changes nothing: the deployed inventory still needs no upgrade.
            let again = try await clusterup(["upgrade", "plan", original])
            #expect(again.status == 0 && again.output.contains("nothing to upgrade"), "\(again.output)")
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }
}
