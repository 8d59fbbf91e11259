import ClusterupCore
@testable import ClusterupDeploy
import ClusterupRollout
import Testing
@testable import ClusterupCLI

/// The restart steps PKIRollout derives from where files go (pure; no root, no lab).
@Suite struct PKIRolloutStepsTests {
    func inventory(lb: Bool = true) -> Inventory {
        let extra: Set<Role> = lb ? [.lb] : []
        return Inventory(
            path: "/tmp/inventory.yml", cluster: "demo", ssh: SSHSettings(),
            hosts: [InventoryHost(name: "node1", address: "198.51.100.11", roles: Set<Role>([.etcd, .controlPlane]).union(extra)),
                    InventoryHost(name: "node2", address: "198.51.100.12", roles: [.etcd])],
            pki: PKISettings(directory: "/tmp/pki"))
    }

    func placement(_ host: String, _ restarts: [String]) -> PKIFilePlacement {
        PKIFilePlacement(host: host, files: [.init(local: "x", remote: "/etc/kubernetes/pki/x", mode: 0o644)], restarts: restarts)
    }

    @Test func etcdFirstAloneThenTheControlPlaneBehindADrain() {
        let steps = PKIRollout.steps([
            placement("node1", ["etcd.service", "kube-apiserver.service", "kube-controller-manager.service"]),
            placement("node2", ["etcd.service"]),
        ], inventory: inventory())
        #expect(steps.map(\.step.host) == ["node1", "node1", "node2"])
        #expect(steps.map(\.step.guarding) == [.etcdMember, .drainAPIServer, .etcdMember])
        #expect(steps.map(\.units) == [["etcd.service"], ["kube-apiserver.service", "kube-controller-manager.service"], ["etcd.service"]])
    }

    @Test func selfReloadedFilesGiveNoStepAndNoLBMeansNoDrain() {
        #expect(PKIRollout.steps([placement("node1", [])], inventory: inventory()).isEmpty)
        let steps = PKIRollout.steps([placement("node1", ["kube-apiserver.service"])], inventory: inventory(lb: false))
        #expect(steps.map(\.step.guarding) == [RolloutGuard.none])
    }
}
