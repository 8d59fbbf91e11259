import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy

@Suite struct TemplateTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func embeddedTemplatesMatchTheTemplatesDirectory() throws {
        let dir = Self.repoRoot.appendingPathComponent("templates")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".mustache") }
        #expect(Set(files.map { String($0.dropLast(".mustache".count)) }) == Set(EmbeddedTemplates.all.keys),
                "run scripts/embed-templates")
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            #expect(EmbeddedTemplates.all[String(file.dropLast(".mustache".count))] == text, "\(file): run scripts/embed-templates")
        }
    }

    @Test func rendersWithoutHTMLEscaping() throws {
        let text = try TemplateSet().render("etcd-bootstrap.env", [
            "name": "node1", "cluster": "demo",
            "initialCluster": "node1=https://198.51.100.11:2380&x=<y>", "initialState": "new",
        ])
        #expect(text.contains("ETCD_INITIAL_CLUSTER=node1=https://198.51.100.11:2380&x=<y>\n"))
        #expect(!text.contains("CONTENT_TYPE"))
    }

    @Test func aUserDirectoryOverridesOneTemplate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-tpl-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "{{% CONTENT_TYPE: TEXT}}\ncustom {{name}}\n".write(to: dir.appendingPathComponent("etcd-bootstrap.env.mustache"), atomically: true, encoding: .utf8)
        let set = try TemplateSet(overrides: dir.path)
        #expect(try set.render("etcd-bootstrap.env", ["name": "n1&n2"]) == "custom n1&n2\n")
        #expect(set.origins["haproxy.cfg"] == "built-in")
    }

    @Test func anOverrideWithoutTheTextContentTypeIsRefused() throws {
        // Without it swift-mustache would write `n1&amp;n2` into the node's file.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-tpl-html-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "custom {{name}}\n".write(to: dir.appendingPathComponent("etcd-bootstrap.env.mustache"), atomically: true, encoding: .utf8)
        let error = try #require(throws: ClusterupError.self) { try TemplateSet(overrides: dir.path) }
        #expect(error.kind == .badInput)
        #expect(error.message.contains("CONTENT_TYPE: TEXT"))
    }

    @Test func etcdMembersRunWithPreVote() throws {
        // Without it a member healed from a partition deposes the leader (etcd 3.4's default).
        let unit = try TemplateSet().render("etcd.service", [
            "binary": "/usr/bin/etcd", "name": "node1", "cluster": "demo", "dataDir": "/var/lib/clusterup/etcd",
            "address": "198.51.100.11", "pki": "/etc/kubernetes/pki",
        ])
        #expect(unit.contains("  --pre-vote=true \\\n"))
    }

    @Test func missingOverrideDirectoryIsBadInput() {
        #expect(throws: (any Error).self) { try TemplateSet(overrides: "/nonexistent/cu-templates") }
    }
}
