import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy

/// Debian 12 ships etcd 3.4, Debian 13 etcd 3.5: which joins are possible, read before any change.
@Suite struct EtcdVersionSkewTests {
    let v3_4 = EtcdVersion("3.4.23")!
    let v3_5 = EtcdVersion("3.5.16")!

    @Test func versionsParseFromEtcdsOwnWords() {
        #expect(EtcdVersion("3.5.16") == v3_5)
        #expect(EtcdVersion("3.5.16") .map(\.series) == "3.5")
        #expect(EtcdVersion("3.6.0-rc.1").map(\.description) == "3.6.0")
        #expect(EtcdVersion("") == nil)
        #expect(EtcdVersion("not installed") == nil)
        #expect(v3_4 < v3_5)
    }

    @Test func anOlderMemberCannotJoinANewerCluster() throws {
        let refusal = try #require(EtcdVersionSkew.refusal(
            joining: [("node4", v3_4)], members: [("node1", v3_5), ("node2", v3_5), ("node3", v3_5)]))
        #expect(refusal.message.hasPrefix("node4 runs etcd 3.4.23, older than the cluster's version 3.5"), "\(refusal.message)")
        #expect(refusal.message.contains("node1 3.5.16"))
        #expect(refusal.hint.contains("a Debian 12 cluster takes Debian 13 members"))
    }

    @Test func aNewerMemberJoinsAnOlderClusterAndEqualSeriesJoinFreely() {
        #expect(EtcdVersionSkew.refusal(joining: [("node4", v3_5)], members: [("node1", v3_4), ("node2", v3_4)]) == nil)
        #expect(EtcdVersionSkew.refusal(joining: [("node4", EtcdVersion("3.4.30")!)], members: [("node1", v3_4)]) == nil)
        // A mixed cluster still runs at its lowest member's version: a 3.4 member may join it.
        #expect(EtcdVersionSkew.refusal(joining: [("node5", v3_4)], members: [("node1", v3_4), ("node4", v3_5)]) == nil)
    }

    @Test func unknownVersionsDecideNothing() {
        #expect(EtcdVersionSkew.refusal(joining: [("node4", nil)], members: [("node1", v3_5)]) == nil)
        #expect(EtcdVersionSkew.refusal(joining: [("node4", v3_4)], members: [("node1", nil)]) == nil)
        #expect(EtcdVersionSkew.refusal(joining: [], members: [("node1", v3_5)]) == nil)
    }

    @Test func theProbeReportsTheBinarysVersionBesideDataStateAndMembers() throws {
        let list = #"{"members":[{"ID":1,"name":"node1","peerURLs":["https://198.51.100.2:2380"]}]}"#
        let facts = try EtcdHostFacts.parse("data\nactive\netcd-version 3.5.16\n\(list)\n", host: "node1")
        #expect(facts.version == v3_5 && facts.members?.map(\.name) == ["node1"])
        let bare = try EtcdHostFacts.parse("empty\ninactive\netcd-version \n", host: "node4")
        #expect(bare.version == nil && bare.members == nil && !bare.hasData)
        // The script asks the binary only when the plan names one (a package or a present binary).
        #expect(EtcdHostFacts.probeScript(dataDirectory: "/d", etcdctl: "etcdctl", etcd: "/usr/bin/etcd").contains("/usr/bin/etcd --version"))
        #expect(!EtcdHostFacts.probeScript(dataDirectory: "/d", etcdctl: "etcdctl").contains("--version"))
    }

    @Test func theProbeScriptReadsAVersionFromARealProgram() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rel-etcd-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fake = "\(directory)/etcd"
        try "#!/bin/sh\necho 'etcd Version: 3.4.23'\necho 'Git SHA: Not provided'\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let output = try runShell(EtcdHostFacts.probeScript(dataDirectory: "\(directory)/data", etcdctl: "/bin/false", etcd: fake))
        let facts = try EtcdHostFacts.parse(output, host: "local")
        #expect(facts.version == v3_4, "\(output)")
    }
}
