import Testing
@testable import ClusterupDeploy

/// Which of a host's pending changes an upgrade step installs: one component's, nothing else.
struct UpgradeInstallerTests {
    func file(_ path: String, restarts: [String], component: String) -> HostChanges.FileChange {
        HostChanges.FileChange(file: ManagedFile(path: path, text: "x", restarts: restarts, component: component), reason: .content)
    }

    var changes: HostChanges {
        var changes = HostChanges(host: "node1")
        changes.files = [
            file("/etc/systemd/system/kube-apiserver.service", restarts: ["kube-apiserver.service"], component: "control-plane"),
            file("/usr/local/bin/kube-apiserver", restarts: ["kube-apiserver.service"], component: "control-plane"),
            file("/etc/kubernetes/pki/apiserver.crt", restarts: ["kube-apiserver.service"], component: "pki"),
            file("/usr/local/bin/kube-scheduler", restarts: ["kube-scheduler.service"], component: "control-plane"),
            file("/etc/haproxy/haproxy.cfg", restarts: ["haproxy.service"], component: "haproxy"),
        ]
        changes.units = [
            .restart("kube-apiserver.service", because: ["/usr/local/bin/kube-apiserver"]),
            .restart("kube-scheduler.service", because: ["/usr/local/bin/kube-scheduler"]),
            .reload("haproxy.service", because: ["/etc/haproxy/haproxy.cfg"]),
        ]
        return changes
    }

    @Test func aComponentGetsItsProgramAndUnitButNotThePKI() {
        let part = UpgradeInstaller.changes(changes, for: .kubeAPIServer)
        #expect(part.files.map(\.file.path) == ["/etc/systemd/system/kube-apiserver.service", "/usr/local/bin/kube-apiserver"])
        #expect(part.units == [.restart("kube-apiserver.service", because: ["/usr/local/bin/kube-apiserver"])])
        #expect(UpgradeInstaller.restartScript(part, component: .kubeAPIServer) == "systemctl daemon-reload && systemctl restart kube-apiserver.service")
    }

    @Test func withoutAUnitFileNoDaemonReloadButAlwaysARestart() {
        let scheduler = UpgradeInstaller.changes(changes, for: .kubeScheduler)
        #expect(scheduler.files.map(\.file.path) == ["/usr/local/bin/kube-scheduler"])
        #expect(UpgradeInstaller.restartScript(scheduler, component: .kubeScheduler) == "systemctl restart kube-scheduler.service")
        // A `present` program replaced in place: no file to write, the service restarts all the same.
        let etcd = UpgradeInstaller.changes(changes, for: .etcd)
        #expect(etcd.isEmpty)
        #expect(UpgradeInstaller.restartScript(etcd, component: .etcd) == "systemctl restart etcd.service")
    }

    @Test func eachComponentHasDeploysUnit() {
        #expect(UpgradeComponent.allCases.map(\.unit) == [
            "etcd.service", "kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service",
            "haproxy.service", "keepalived.service", "clusterup-vrrpd.service",
        ])
    }
}
