import Testing
@testable import ClusterupDeploy

/// `verify`'s version-skew check: the skew policy's rules applied to what the hosts run now.
@Suite struct InstalledSkewTests {
    /// Hosts node1… running, per component, the version at the same index.
    func hosts(_ versions: [UpgradeComponent: [String]]) -> [HostVersions] {
        let count = versions.values.map(\.count).max() ?? 0
        return (0..<count).map { index in
            var installed: [UpgradeComponent: InstalledVersion] = [:]
            for (component, list) in versions where index < list.count { installed[component] = InstalledVersion(text: list[index]) }
            return HostVersions(host: "node\(index + 1)", installed: installed)
        }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var installed: [UpgradeComponent: [String]]
        var broken: [String] = []
        var says: String? = nil
        var testDescription: String { "\(installed.map { "\($0.key.rawValue) \($0.value)" }.sorted()) → \(broken)" }
    }

    static let rows: [Row] = [
        // An upgrade under way is within the policy.
        Row(installed: [.etcd: ["3.5.16", "3.4.23", "3.4.23"]]),
        Row(installed: [.kubeAPIServer: ["v1.32.0", "v1.31.2", "v1.31.2"], .kubeControllerManager: ["v1.31.2", "v1.31.2", "v1.31.2"],
                        .kubeScheduler: ["v1.31.2", "v1.31.2", "v1.31.2"]]),
        // HAProxy and the VRRP daemons may differ between hosts (a Debian 12/13 cluster).
        Row(installed: [.haproxy: ["2.6.12-1+deb12u1", "3.0.11-1", "3.0.11-1"], .keepalived: ["v2.2.7", "v2.3.3", "v2.3.3"]]),
        Row(installed: [.etcd: ["etcd Version: 3.6.0", "3.4.23", "3.4.23"]], broken: ["etcd-one-minor"],
            says: "etcd 3.4.23 on node2, node3; 3.6.0 on node1: breaks rule etcd-one-minor"),
        Row(installed: [.etcd: ["3.5.16", "4.0.0", "3.5.16"]], broken: ["same-major"]),
        Row(installed: [.kubeAPIServer: ["v1.33.0", "v1.31.2", "v1.32.0"]], broken: ["kube-apiserver-one-minor"],
            says: "kube-apiserver v1.31.2 on node2; v1.32.0 on node3; v1.33.0 on node1: breaks rule kube-apiserver-one-minor"),
        Row(installed: [.kubeAPIServer: ["v1.31.2", "v1.31.2", "v1.31.2"], .kubeScheduler: ["v1.32.0", "v1.31.2", "v1.31.2"]],
            broken: ["controllers-not-newer-than-apiserver"],
            says: "kube-scheduler v1.31.2 on node2, node3; v1.32.0 on node1; kube-apiserver v1.31.2 on node1, node2, node3: breaks rule controllers-not-newer-than-apiserver"),
        Row(installed: [.kubeAPIServer: ["v1.32.0", "v1.32.0", "v1.32.0"], .kubeControllerManager: ["v1.30.5", "v1.32.0", "v1.32.0"]],
            broken: ["controllers-at-most-one-minor-older"]),
        // Two rules broken at once: each is named.
        Row(installed: [.etcd: ["3.6.0", "3.4.23"], .kubeAPIServer: ["v1.33.0", "v1.31.2"]], broken: ["etcd-one-minor", "kube-apiserver-one-minor"]),
        // What cannot be read is left out, not judged.
        Row(installed: [.etcd: ["not installed", "3.6.0", "3.6.1"]]),
    ]

    @Test(arguments: rows)
    func installedVersionsAgainstTheRules(row: Row) {
        let found = InstalledSkew.violations(hosts(row.installed))
        #expect(found.map(\.rule.id) == row.broken, "\(found)")
        if let says = row.says { #expect(found.first?.description.hasPrefix(says) == true, "\(found.first?.description ?? "none")") }
    }

    @Test func theRulesAreTheTablesOwn() {
        // One home: a violation quotes the very rule value `upgrade plan` refuses with.
        let found = InstalledSkew.violations(hosts([.etcd: ["3.6.0", "3.4.23"]]))
        #expect(found.first?.rule == SkewRules.etcdOneMinor)
        #expect(found.first?.description.contains(SkewRules.etcdOneMinor.statement) == true)
    }
}
