import Testing
@testable import ClusterupDeploy

@Suite struct ComponentVersionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var output: String
        var release: (Int, Int, Int)?
        var text: String?
        var testDescription: String { output }
    }

    static let cases: [Case] = [
        Case(output: "Kubernetes v1.31.2", release: (1, 31, 2), text: "v1.31.2"),
        Case(output: "Kubernetes v1.31.2 (clusterup lab stand-in, not Kubernetes)", release: (1, 31, 2), text: "v1.31.2"),
        Case(output: "etcd Version: 3.4.23\nGit SHA: Not provided (use ./build instead of go build)", release: (3, 4, 23), text: "3.4.23"),
        Case(output: "HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/", release: (2, 6, 12), text: "2.6.12-1+deb12u1"),
        Case(output: "Keepalived v2.2.7 (01/16,2022)", release: (2, 2, 7), text: "v2.2.7"),
        Case(output: "clusterup-vrrpd 0.1.0", release: (0, 1, 0), text: "0.1.0"),
        Case(output: "v1.32", release: (1, 32, 0), text: "v1.32"),
        Case(output: "sha256 1234abcd", release: nil, text: nil),
        Case(output: "bash: line 1: etcd: command not found", release: nil, text: nil),
        Case(output: "", release: nil, text: nil),
    ]

    @Test(arguments: cases) func readsTheReleaseEachProgramPrints(_ c: Case) {
        let version = ComponentVersion(parsing: c.output)
        #expect(version.map { ($0.major, $0.minor, $0.patch) } ?? (-1, -1, -1) == c.release ?? (-1, -1, -1))
        #expect(version?.text == c.text)
    }

    @Test func aDebianRevisionIsTheSameRelease() throws {
        let debian = try #require(ComponentVersion(parsing: "2.6.12-1+deb12u1"))
        #expect(debian.sameRelease(try #require(ComponentVersion(parsing: "2.6.12"))))
        #expect(try #require(ComponentVersion(parsing: "v1.31.10")) > (try #require(ComponentVersion(parsing: "v1.31.9"))))
    }
}

/// The skew rules as a table: each row a change, and the rule that refuses it (nil: allowed).
@Suite struct SkewPolicyTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var component: UpgradeComponent
        var installed: [String]
        var target: String
        var allowDowngrade = false
        var refusedBy: String?
        /// Words the refusal's text must contain (the versions, what to do).
        var says: [String] = []
        var testDescription: String { "\(component.rawValue) \(installed) → \(target)\(allowDowngrade ? " --allow-downgrade" : "")" }
    }

    static let rows: [Row] = [
        Row(component: .kubeAPIServer, installed: ["v1.30.4", "v1.30.4", "v1.30.4"], target: "v1.31.2"),
        Row(component: .kubeAPIServer, installed: ["v1.30.4", "v1.30.4", "v1.30.4"], target: "v1.30.6"),
        Row(component: .kubeAPIServer, installed: ["v1.30.4", "v1.30.4", "v1.30.4"], target: "v1.32.0", refusedBy: "kube-apiserver-one-minor",
            says: ["v1.30.4 → v1.32.0", "go through 1.31 first"]),
        // Half done: one host already at 1.31 does not make 1.32 reachable while others are at 1.30.
        Row(component: .kubeAPIServer, installed: ["v1.31.2", "v1.30.4", "v1.30.4"], target: "v1.32.0", refusedBy: "kube-apiserver-one-minor",
            says: ["node2, node3 at v1.30.4", "go through 1.31 first"]),
        Row(component: .kubeAPIServer, installed: ["v1.31.2", "v1.31.2", "v1.30.4"], target: "v1.31.2"),
        Row(component: .kubeAPIServer, installed: ["v1.31.2", "v1.31.2", "v1.31.2"], target: "v1.30.4", refusedBy: "no-downgrade",
            says: ["v1.31.2 → v1.30.4", "--allow-downgrade"]),
        Row(component: .kubeAPIServer, installed: ["v1.31.2", "v1.31.2", "v1.31.2"], target: "v1.31.1", refusedBy: "no-downgrade"),
        Row(component: .kubeAPIServer, installed: ["v1.31.2", "v1.31.2", "v1.31.2"], target: "v1.30.4", allowDowngrade: true),
        Row(component: .kubeAPIServer, installed: ["v1.32.0", "v1.32.0", "v1.32.0"], target: "v1.30.4", allowDowngrade: true,
            refusedBy: "kube-apiserver-one-minor", says: ["go through 1.31 first"]),
        Row(component: .kubeAPIServer, installed: ["v1.31.2"], target: "v2.0.0", refusedBy: "same-major"),
        Row(component: .etcd, installed: ["3.4.23", "3.4.23", "3.4.23"], target: "3.5.16"),
        Row(component: .etcd, installed: ["3.5.16", "3.4.23", "3.4.23"], target: "3.5.16"),
        Row(component: .etcd, installed: ["3.4.23", "3.4.23", "3.4.23"], target: "3.6.0", refusedBy: "etcd-one-minor",
            says: ["3.4.23 → 3.6.0", "go through 3.5 first"]),
        Row(component: .etcd, installed: ["3.5.16", "3.5.16", "3.5.16"], target: "3.4.23", refusedBy: "etcd-no-downgrade",
            says: ["3.5.16 → 3.4.23", "restore a snapshot"]),
        // --allow-downgrade does not make etcd go back a minor version.
        Row(component: .etcd, installed: ["3.5.16", "3.5.16", "3.5.16"], target: "3.4.23", allowDowngrade: true, refusedBy: "etcd-no-downgrade"),
        Row(component: .etcd, installed: ["3.5.16", "3.5.16", "3.5.16"], target: "3.5.15", refusedBy: "no-downgrade"),
        Row(component: .etcd, installed: ["3.5.16", "3.5.16", "3.5.16"], target: "3.5.15", allowDowngrade: true),
        Row(component: .haproxy, installed: ["2.6.12-1+deb12u1", "2.6.12-1+deb12u1"], target: "2.8.5"),
        Row(component: .haproxy, installed: ["2.8.5", "2.8.5"], target: "2.6.12", refusedBy: "no-downgrade"),
    ]

    @Test(arguments: rows) func eachChangeIsAllowedOrRefusedByItsRule(_ row: Row) throws {
        let installed = try row.installed.enumerated().map { (host: "node\($0.offset + 1)", version: try #require(ComponentVersion(parsing: $0.element))) }
        let target = try #require(ComponentVersion(parsing: row.target))
        let refusal = SkewPolicy.check(row.component, installed: installed, to: target, allowDowngrade: row.allowDowngrade)
        #expect(refusal?.rule.id == row.refusedBy, "\(refusal?.description ?? "allowed")")
        for words in row.says {
            #expect(refusal?.description.contains(words) == true, "'\(words)' not in: \(refusal?.description ?? "allowed")")
        }
        if let refusal {
            #expect(refusal.component == row.component)
            #expect(refusal.to == target.text)
        }
    }

    @Test func everyRuleIsNamedOnceAndSaysWhereItComesFrom() {
        #expect(Set(SkewRules.all.map(\.id)).count == SkewRules.all.count)
        #expect(SkewRules.all.allSatisfy { !$0.statement.isEmpty && !$0.source.isEmpty })
        #expect(Set(VersionChangePolicy.table.keys) == Set(UpgradeComponent.allCases))
    }

    func versions(_ texts: [String]) -> [(host: String, version: ComponentVersion)] {
        texts.enumerated().map { (host: "node\($0.offset + 1)", version: ComponentVersion(parsing: $0.element)!) }
    }

    @Test func aControllerNewerThanTheApiserversIsRefused() {
        let refusal = SkewPolicy.checkControllers(
            apiservers: versions(["v1.30.4", "v1.30.4"]), apiserverTarget: ComponentVersion(parsing: "v1.31.2")!,
            controller: .kubeScheduler, installed: versions(["v1.30.4", "v1.30.4"]), target: ComponentVersion(parsing: "v1.32.0"))
        #expect(refusal?.rule == SkewRules.controllersNotNewer)
        #expect(refusal?.message == "kube-scheduler v1.32.0 would be newer than kube-apiserver v1.31.2")
    }

    @Test func aControllerTwoMinorsBehindTheApiserversIsRefused() {
        // The controller-manager's version is not declared: it stays at 1.29 while the apiservers reach 1.31.
        let refusal = SkewPolicy.checkControllers(
            apiservers: versions(["v1.30.4", "v1.30.4"]), apiserverTarget: ComponentVersion(parsing: "v1.31.2")!,
            controller: .kubeControllerManager, installed: versions(["v1.30.4", "v1.29.9"]), target: nil)
        #expect(refusal?.rule == SkewRules.controllersOneMinorOlder)
        #expect(refusal?.hosts == ["node2"])
        #expect(refusal?.message.contains("v1.29.9 on node2 would be 2 minor versions older than kube-apiserver v1.31.2") == true)
    }

    @Test func controllersFollowingTheApiserversOneMinorBehindAreAllowed() {
        #expect(SkewPolicy.checkControllers(
            apiservers: versions(["v1.30.4", "v1.30.4"]), apiserverTarget: ComponentVersion(parsing: "v1.31.2")!,
            controller: .kubeControllerManager, installed: versions(["v1.30.4", "v1.30.4"]), target: ComponentVersion(parsing: "v1.31.2")) == nil)
    }
}
