import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

@Suite struct InventoryRequestTests {
    func inventory(vip: VIPSettings? = VIPSettings(address: "198.51.100.62", port: 8443, dnsName: "k8s.example.internal")) -> Inventory {
        Inventory(
            path: "/srv/demo/inventory.yml", cluster: "demo", ssh: SSHSettings(),
            hosts: [
                InventoryHost(name: "node1", address: "198.51.100.11", privateAddress: "10.0.0.11", roles: [.etcd, .controlPlane, .lb]),
                InventoryHost(name: "node2", address: "198.51.100.12", roles: [.etcd]),
                InventoryHost(name: "lb1", address: "198.51.100.13", roles: [.lb]),
            ],
            vip: vip,
            pki: PKISettings(directory: "/srv/demo/pki/demo", algorithm: .rsa3072, leafValidity: .days(90),
                             renewBefore: .days(10), extraSANs: ["api.example.com"],
                             externalCA: .init(certificatePath: "/ca/ca.crt", keyPath: "/ca/ca.key",
                                               passphraseEnvironmentVariable: "CA_PASS")))
    }

    @Test func hostsWithoutEtcdOrControlPlaneGetNoCertificates() throws {
        let request = try PKIRequest(inventory: inventory())
        #expect(request.nodes.map(\.name) == ["node1", "node2"])
        #expect(request.nodes[0].roles == [.etcd, .controlPlane])
        #expect(request.nodes[1].roles == [.etcd])
    }

    @Test func thePrivateAddressComesFirstAndTheSSHAddressIsKept() throws {
        let request = try PKIRequest(inventory: inventory())
        #expect(request.nodes[0].addresses == ["10.0.0.11", "198.51.100.11"])
        #expect(request.nodes[1].addresses == ["198.51.100.12"])
    }

    @Test func theVIPAndThePKISectionCarryOverUnchanged() throws {
        let inventory = inventory()
        let request = try PKIRequest(inventory: inventory)
        #expect(request.vipAddress == "198.51.100.62" && request.vipPort == 8443)
        #expect(request.loadBalancerDNSName == "k8s.example.internal")
        #expect(request.settings == inventory.pki)
    }

    @Test func aMissingVIPIsABadInputNamingTheInventory() {
        #expect { try PKIRequest(inventory: inventory(vip: nil)) } throws: { error in
            let error = error as! ClusterupError
            return error.kind == .badInput && error.location == "/srv/demo/inventory.yml" && error.message.contains("'vip'")
        }
    }

    @Test func theStarterInventoryFromInitGeneratesTheWholeSet() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let loaded = try InventoryLoader().parse(yaml: StarterInventory.text(), path: dir.path + "/inventory.yml")
        let request = try PKIRequest(inventory: loaded)
        #expect(request.settings.directory == dir.path + "/pki/demo")
        let report = try PKIGenerator(request: request).run(now: Date())
        let plan = try PKIPlan(request: request)
        #expect(report.issued.count == plan.leaves.count && report.createdAuthorities.count == 3)
        for leaf in plan.leaves {
            #expect(openssl("verify", "-CAfile", request.settings.directory + "/" + leaf.signingAuthority!.certificatePath,
                            request.settings.directory + "/" + leaf.certificatePath).status == 0, "\(leaf.name)")
        }
    }
}
