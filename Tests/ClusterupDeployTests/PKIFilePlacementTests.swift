import ClusterupCore
import ClusterupPKI
import Testing
@testable import ClusterupDeploy
import TestSupport

/// Which renewed file goes to which host, and what restarts for it.
@Suite struct PKIFilePlacementTests {
    let hosts = DemoInventory.hosts([DemoInventory.allRoles, DemoInventory.allRoles, [.etcd]])

    func plan() throws -> PKIPlan {
        try PKIPlan(request: PKIRequest(
            clusterName: "demo",
            nodes: hosts.map { PKIRequest.Node(name: $0.name, addresses: [$0.address], roles: $0.roles.contains(.controlPlane) ? [.etcd, .controlPlane] : [.etcd]) },
            vipAddress: "198.51.100.62", settings: PKISettings(directory: "/tmp/pki")))
    }

    @Test func aServingCertificateGoesToItsHostAndRestartsNothing() throws {
        let placements = PKIFilePlacement.placements(of: ["nodes/node3/etcd/peer.crt"], plan: try plan(), hosts: hosts)
        #expect(placements == [PKIFilePlacement(host: "node3", files: [
            .init(local: "nodes/node3/etcd/peer.crt", remote: "/etc/kubernetes/pki/etcd/peer.crt", mode: 0o644),
        ], restarts: [])])
    }

    @Test func aClientCertificateAndAKubeconfigRestartTheirReaders() throws {
        let changed: Set<String> = ["nodes/node1/apiserver-etcd-client.crt", "nodes/node1/apiserver-etcd-client.key", "scheduler.conf"]
        let placements = PKIFilePlacement.placements(of: changed, plan: try plan(), hosts: hosts)
        #expect(placements.map(\.host) == ["node1", "node2"])
        #expect(placements[0].files.map(\.remote) == [
            "/etc/kubernetes/pki/apiserver-etcd-client.crt", "/etc/kubernetes/pki/apiserver-etcd-client.key",
            "/etc/kubernetes/scheduler.conf",
        ])
        #expect(placements[0].files.map(\.mode) == [0o644, 0o600, 0o600])
        #expect(placements[0].restarts == ["kube-apiserver.service", "kube-scheduler.service"])
        #expect(placements[1].files.map(\.remote) == ["/etc/kubernetes/scheduler.conf"])
        #expect(placements[1].restarts == ["kube-scheduler.service"])
    }

    @Test func aCACertificateGoesToEveryHostWithPKIFiles() throws {
        let placements = PKIFilePlacement.placements(of: ["etcd/ca.crt"], plan: try plan(), hosts: hosts)
        #expect(placements.map(\.host) == ["node1", "node2", "node3"])
        #expect(placements[2].restarts == ["etcd.service"])
        #expect(placements[0].restarts == ["etcd.service", "kube-apiserver.service"])
    }
}
