import ClusterupCore
@testable import ClusterupDeploy
import Foundation
import Testing
@testable import ClusterupCLI

/// `clusterup --version` and what status prints of the record deploy leaves. No root.
@Suite struct BuildInfoTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theBuiltInVersionIsTheVersionFiles() throws {
        let file = try String(contentsOf: Self.repo.appendingPathComponent("VERSION"), encoding: .utf8)
        #expect(ClusterupBuild.current.version == file.trimmingCharacters(in: .whitespacesAndNewlines),
                "edit ClusterupBuild+Current.swift to match VERSION")
    }

    @Test func versionFlagPrintsVersionCommitAndDate() throws {
        #expect(Clusterup.configuration.version == "clusterup " + ClusterupBuild.current.description)
        #expect(Clusterup.configuration.version.contains(ClusterupBuild.current.version))
        #expect(Clusterup.configuration.version.contains("commit "))
    }

    @Test func statusShowsWhichClusterupLastChangedEachReachableHost() throws {
        var deployed = HostStatus(name: "node1", roles: ["lb"])
        deployed.lastDeploy = DeployRecord(build: ClusterupBuild(version: "0.1.0", commit: "79902a9c1d2e", date: nil),
                                           deployedAt: "2026-12-05T09:00:00Z", deployedBy: "ops@admin")
        let bare = HostStatus(name: "node2", roles: ["lb"])
        let down = HostStatus(name: "node3", roles: ["lb"], error: "connection refused")
        let rows = StatusReport.lastDeployRows([deployed, bare, down])
        #expect(rows == [["node1", "clusterup 0.1.0 (commit 79902a9c1d2e) on 2026-12-05T09:00:00Z by ops@admin"],
                         ["node2", "none recorded"]])
        let json = StatusReport.json(ClusterStatus(hosts: [deployed, bare], etcd: nil, vip: nil), now: Date()).pretty
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let hosts = try #require(document["hosts"] as? [[String: Any]])
        let last = try #require(hosts[0]["last_deploy"] as? [String: Any], "\(json)")
        #expect(last["version"] as? String == "0.1.0")
        #expect(last["commit"] as? String == "79902a9c1d2e")
        #expect(last["deployed_by"] as? String == "ops@admin")
        #expect(hosts[1]["last_deploy"] is NSNull)
    }
}
