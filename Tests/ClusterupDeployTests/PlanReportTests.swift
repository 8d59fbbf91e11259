import ClusterupCore
import Testing
@testable import ClusterupDeploy

/// The plan's report as a pure rendering: what a real run and a dry run say about the same plan.
@Suite struct PlanReportTests {
    let hosts = ["node1", "node2", "node3"]

    func joinPlan(content: String = "v1\n") throws -> DeployPlan {
        let inventory = try operationsInventory()
        var etcd = PlanFixture.runningCluster
        etcd["node1"]?.members = Array(PlanFixture.running.prefix(2))
        etcd["node3"] = EtcdHostFacts(hasData: false, active: false)
        return try PlanFixture.plan(inventory, desired: PlanFixture.desired(inventory, content: content),
                                    observed: PlanFixture.observed(etcd: etcd))
    }

    @Test func aRealRunSaysOneLinePerChangedHostAndTheTotal() throws {
        let lines = PlanReport.lines(try joinPlan(content: "v2\n"), hosts: hosts, mode: .wet)
        #expect(lines == [
            .init(host: "node3", text: "etcd: add member node3 (https://198.51.100.13:2380)"),
            .init(host: "node1", text: "write 1 file(s) (demo 1); restart demo"),
            .init(host: "node2", text: "write 1 file(s) (demo 1); restart demo"),
            .init(host: "node3", text: "write 2 file(s) (demo 1, etcd 1); restart demo"),
            .init(host: nil, text: "changing 7 item(s) on 3 host(s)"),
        ])
    }

    @Test func aDryRunSaysWouldForEveryChangeWithTheDiff() throws {
        let current = ["node1": [PlanFixture.config: "v1\n"], "node2": [PlanFixture.config: "v1\n"], "node3": [PlanFixture.config: "v1\n"]]
        let lines = PlanReport.lines(try joinPlan(content: "v2\n"), hosts: hosts, mode: .dry, current: current)
        #expect(lines.first == .init(host: "node3", text: "etcd: would add member node3 (https://198.51.100.13:2380)"))
        let node3 = lines.filter { $0.host == "node3" }.map(\.text)
        #expect(node3.contains("would update /etc/demo/demo.conf (demo)"))
        #expect(node3.contains("  -v1") && node3.contains("  +v2"))
        #expect(node3.contains("would create /etc/clusterup/etcd-bootstrap.env (etcd)"))
        #expect(node3.contains("would restart demo.service (changed: /etc/demo/demo.conf)"))
        #expect(lines.last == .init(host: nil, text: "would change 7 item(s) on 3 host(s)"))
        #expect(lines.allSatisfy { $0.text.hasPrefix("would ") || $0.text.hasPrefix("etcd: would ") || $0.text.hasPrefix("  ") })
    }

    @Test func anUnchangedClusterSaysSo() throws {
        let plan = try PlanFixture.plan(try operationsInventory(), observed: PlanFixture.observed(etcd: PlanFixture.runningCluster))
        for mode in [RunMode.wet, .dry] {
            #expect(PlanReport.lines(plan, hosts: hosts, mode: mode) == [.init(host: nil, text: "no changes: every host already matches the inventory")])
        }
    }

    @Test func membershipChangesAreNamedPerMember() {
        var plan = DeployPlan(etcd: .reconcile(join: [], remove: [PlanFixture.member("node9", "198.51.100.19", id: 9),
                                                                  EtcdMember(id: 0xab, name: "", peerURLs: [])]),
                              members: nil, leftOut: ["node4"], desired: [:], changes: [:])
        #expect(PlanReport.etcdLines(plan, mode: .dry).map(\.text) == [
            "etcd: not added as a member (unreachable); a deploy once it is back adds it",
            "etcd: would remove member node9", "etcd: would remove member ab",
        ])
        plan.etcd = .bootstrap([EtcdPeer(name: "node1", address: "198.51.100.11")])
        plan.leftOut = []
        #expect(PlanReport.etcdLines(plan, mode: .wet) == [.init(host: nil, text: "etcd: bootstrap a new cluster of 1 member(s)")])
    }

    @Test func onlyChangedTextThatIsNoSecretIsDiffed() {
        var changes = HostChanges(host: "node1")
        var key = ManagedFile(path: "/etc/kubernetes/pki/sa.key", text: "k", component: "pki")
        key.sensitive = true
        let binary = ManagedFile(path: "/usr/local/bin/etcd", content: [0x7f, 0x45, 0x00], component: "etcd")
        let new = ManagedFile(path: "/etc/new.conf", text: "n", component: "demo")
        let changed = ManagedFile(path: "/etc/changed.conf", text: "c", component: "demo")
        changes.files = [.init(file: key, reason: .content), .init(file: binary, reason: .content), .init(file: new, reason: .missing),
                         .init(file: changed, reason: .content)]
        #expect(PlanReport.diffed(changes) == ["/etc/changed.conf"])
        let lines = PlanReport.details(changes, mode: .dry, current: ["/etc/changed.conf": "b"])
        #expect(lines.contains("  (secret: content not shown)") && lines.contains("  (binary: 3 bytes)"))
        #expect(lines.contains("  -b") && lines.contains("  +c"))
    }

    @Test func aFirstDeploysPKIFilesAreOneLine() {
        var changes = HostChanges(host: "node1")
        changes.files = (1...5).map { .init(file: ManagedFile(path: "/etc/kubernetes/pki/f\($0).crt", text: "x", component: "pki"), reason: .missing) }
        changes.files.append(.init(file: ManagedFile(path: "/etc/kubernetes/pki/ca.crt", text: "x", mode: 0o644, component: "pki"),
                                   reason: .metadata(mode: 0o600, owner: "root", group: "root")))
        #expect(PlanReport.details(changes, mode: .dry, current: [:]) == [
            "would install 5 PKI files under /etc/kubernetes/pki",
            "would set /etc/kubernetes/pki/ca.crt to mode 644 root:root (was 600 root:root)",
        ])
        #expect(PlanReport.summary(changes) == ["write 6 file(s) (pki 6)"])
    }
}
