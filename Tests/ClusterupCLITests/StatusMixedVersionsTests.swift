import Testing
@testable import ClusterupCLI
@testable import ClusterupDeploy

/// `status` flags components whose hosts run different releases (an upgrade under way).
struct StatusMixedVersionsTests {
    func host(_ name: String, _ versions: [String: String]) -> HostStatus {
        var host = HostStatus(name: name, roles: ["control-plane"])
        host.versions = versions
        return host
    }

    @Test func aComponentAtTwoReleasesIsNamedWithItsHosts() {
        let hosts = [
            host("node1", ["kube-apiserver": "Kubernetes v1.32.0 (clusterup lab stand-in, not Kubernetes)", "etcd": "etcd Version: 3.4.23"]),
            host("node2", ["kube-apiserver": "Kubernetes v1.32.0 (clusterup lab stand-in, not Kubernetes)", "etcd": "etcd Version: 3.4.23"]),
            host("node3", ["kube-apiserver": "Kubernetes v1.31.2 (clusterup lab stand-in, not Kubernetes)", "etcd": "etcd Version: 3.4.23"]),
        ]
        #expect(StatusReport.mixedVersions(hosts) == ["kube-apiserver: v1.31.2 on node3; v1.32.0 on node1, node2"])
    }

    @Test func aDebianRevisionIsNotAnotherRelease() {
        let hosts = [
            host("node1", ["haproxy": "HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/"]),
            host("node2", ["haproxy": "HAProxy version 2.6.12-1+deb12u4 2025/01/03 - https://haproxy.org/"]),
        ]
        #expect(StatusReport.mixedVersions(hosts).isEmpty)
    }
}
