import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

@Suite struct PKIPlanTests {
    let plan = try! PKIPlan(request: makeRequest(nodes: 3, extraSANs: ["api.example.com", "203.0.113.10"]))

    func spec(_ name: String) throws -> CertificateSpec { try #require(plan.certificate(named: name)) }
    func sans(_ name: String) throws -> Set<String> { Set(try spec(name).subjectAlternativeNames.map(\.description)) }

    @Test func threeSelfSignedAuthoritiesWithPathLengthZero() {
        #expect(plan.authorities.map(\.name) == ["ca", "etcd/ca", "front-proxy-ca"])
        for ca in plan.authorities {
            #expect(ca.signer == .selfSigned(pathLength: 0))
            #expect(ca.keyUsage == [.digitalSignature, .keyCertSign, .cRLSign])
            #expect(ca.extendedKeyUsage.isEmpty)
        }
    }

    @Test func everyNodeWithBothRolesGetsSevenLeavesPlusThreeKubeconfigClients() {
        #expect(plan.leaves.count == 3 * 7 + 3)
        #expect(plan.leaves.filter { $0.node == "node2" }.map(\.kind).sorted() == [
            "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client",
            "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client"])
    }

    @Test func rolesDecideWhichLeavesANodeGets() throws {
        var request = makeRequest(nodes: 2)
        request.nodes[0].roles = [.etcd]
        request.nodes[1].roles = [.controlPlane]
        let plan = try PKIPlan(request: request)
        #expect(Set(plan.leaves.filter { $0.node == "node1" }.map(\.kind)) == ["etcd-server", "etcd-peer", "etcd-healthcheck-client"])
        #expect(Set(plan.leaves.filter { $0.node == "node2" }.map(\.kind)) == [
            "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "front-proxy-client"])
    }

    @Test func apiserverSANsCoverNodeVIPLoadBalancerServiceNamesServiceIPAndExtras() throws {
        #expect(try sans("apiserver@node2") == [
            "DNS:node2", "IP:198.51.100.12", "IP:198.51.100.62", "DNS:k8s.example.internal",
            "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "IP:10.96.0.1",
            "DNS:api.example.com", "IP:203.0.113.10"])
    }

    @Test func etcdServerSANsAddLoopbackToTheNodesNamesAndAddresses() throws {
        #expect(try sans("etcd-server@node1") == ["DNS:node1", "IP:198.51.100.11", "DNS:localhost", "IP:127.0.0.1", "IP:::1"])
        #expect(try sans("etcd-peer@node1") == ["DNS:node1", "IP:198.51.100.11"])
    }

    @Test func nodeAddressesMayBeDNSNamesAndPrivateAddresses() throws {
        var request = makeRequest(nodes: 1)
        request.nodes[0].addresses = ["node1.example.org", "10.0.0.11"]
        let plan = try PKIPlan(request: request)
        #expect(Set(try #require(plan.certificate(named: "etcd-peer@node1")).subjectAlternativeNames.map(\.description))
                == ["DNS:node1", "DNS:node1.example.org", "IP:10.0.0.11"])
    }

    @Test func peerAndServerCertificatesServeAndAuthenticateClients() throws {
        #expect(try spec("etcd-peer@node1").extendedKeyUsage == [.serverAuth, .clientAuth])
        #expect(try spec("etcd-server@node1").extendedKeyUsage == [.serverAuth, .clientAuth])
        #expect(try spec("apiserver@node1").extendedKeyUsage == [.serverAuth])
        for kind in ["etcd-healthcheck-client", "apiserver-etcd-client", "apiserver-kubelet-client", "front-proxy-client"] {
            #expect(try spec("\(kind)@node1").extendedKeyUsage == [.clientAuth], "\(kind)")
        }
        for client in ["admin.conf", "controller-manager.conf", "scheduler.conf"] {
            #expect(try spec(client).extendedKeyUsage == [.clientAuth], "\(client)")
        }
    }

    @Test func eachLeafIsSignedByTheCAItsConsumerTrusts() throws {
        #expect(try spec("etcd-server@node1").signer == .authority(.etcd))
        #expect(try spec("etcd-peer@node1").signer == .authority(.etcd))
        #expect(try spec("etcd-healthcheck-client@node1").signer == .authority(.etcd))
        #expect(try spec("apiserver-etcd-client@node1").signer == .authority(.etcd))
        #expect(try spec("apiserver@node1").signer == .authority(.kubernetes))
        #expect(try spec("apiserver-kubelet-client@node1").signer == .authority(.kubernetes))
        #expect(try spec("front-proxy-client@node1").signer == .authority(.frontProxy))
        #expect(try spec("admin.conf").signer == .authority(.kubernetes))
    }

    @Test func subjectsNameTheKubernetesUsersAndGroups() throws {
        #expect(try spec("admin.conf").subject == DistinguishedName(commonName: "kubernetes-admin", organizations: ["system:masters"]))
        #expect(try spec("controller-manager.conf").subject == DistinguishedName(commonName: "system:kube-controller-manager"))
        #expect(try spec("scheduler.conf").subject == DistinguishedName(commonName: "system:kube-scheduler"))
        #expect(try spec("apiserver-etcd-client@node3").subject == DistinguishedName(commonName: "kube-apiserver-etcd-client", organizations: ["system:masters"]))
        #expect(try spec("etcd-server@node3").subject.commonName == "node3")
    }

    @Test func ecdsaLeavesOnlySignWhileRSALeavesMayAlsoEncipher() throws {
        #expect(try spec("apiserver@node1").keyUsage == [.digitalSignature])
        let rsa = try PKIPlan(request: makeRequest(nodes: 1, algorithm: .rsa2048))
        #expect(rsa.certificate(named: "apiserver@node1")?.keyUsage == [.digitalSignature, .keyEncipherment])
    }

    @Test func kubeconfigsPointAtTheVIPAndPort() {
        #expect(plan.kubeconfigs.map(\.path) == ["admin.conf", "controller-manager.conf", "scheduler.conf"])
        #expect(plan.kubeconfigs.allSatisfy { $0.serverURL == "https://198.51.100.62:8443" && $0.clusterName == "demo" })
    }

    @Test func anIPv6VIPIsBracketedInTheServerURL() throws {
        var request = makeRequest(nodes: 1)
        request.vipAddress = "2001:db8::62"
        #expect(try PKIPlan(request: request).kubeconfigs[0].serverURL == "https://[2001:db8::62]:8443")
    }

    @Test func leafFilesLiveUnderTheirNodesDirectory() throws {
        #expect(try spec("etcd-server@node2").certificatePath == "nodes/node2/etcd/server.crt")
        #expect(try spec("apiserver@node2").keyPath == "nodes/node2/apiserver.key")
        #expect(try spec("ca").keyPath == "ca.key")
        #expect(try spec("etcd/ca").certificatePath == "etcd/ca.crt")
    }

    @Test func aNodesUploadSetMapsItsDirectoryOntoEtcKubernetesPKI() {
        let files = plan.files(forNode: "node1")
        #expect(files.contains { $0.local == "nodes/node1/etcd/server.crt" && $0.remote == "etcd/server.crt" })
        #expect(files.contains { $0.local == "etcd/ca.crt" && $0.remote == "etcd/ca.crt" })
        #expect(files.contains { $0.local == "sa.key" && $0.remote == "sa.key" })
        #expect(!files.contains { $0.local.hasPrefix("nodes/node2/") })
        #expect(plan.files(forNode: "nobody").isEmpty)
    }

    @Test func theFirstServiceAddressIsTheNetworkPlusOne() {
        #expect(IPAddress.firstServiceAddress(ofCIDR: "10.96.0.0/12")?.description == "10.96.0.1")
        #expect(IPAddress.firstServiceAddress(ofCIDR: "10.100.7.9/16")?.description == "10.100.0.1")
        #expect(IPAddress.firstServiceAddress(ofCIDR: "fd00:10:96::/108")?.description == "fd00:10:96::1")
        #expect(IPAddress.firstServiceAddress(ofCIDR: "10.96.0.0") == nil)
        #expect(IPAddress.firstServiceAddress(ofCIDR: "10.96.0.0/40") == nil)
    }

    @Test func sansAreValidatedAndLowercased() throws {
        #expect(try SubjectAlternativeName(parsing: "API.Example.COM") == .dnsName("api.example.com"))
        #expect(try SubjectAlternativeName(parsing: "*.apps.example.com") == .dnsName("*.apps.example.com"))
        #expect(try SubjectAlternativeName(parsing: "0:0::1") == .ipAddress(IPAddress("::1")!))
        for bad in ["", "a,b", "-bad.example", "bad-.example", "under_score", "a..b", "DNS:x", String(repeating: "a", count: 64)] {
            #expect(throws: ClusterupError.self, "\(bad)") { try SubjectAlternativeName(parsing: bad) }
        }
    }

    @Test func anInvalidExtraSANNamesItsField() {
        #expect {
            try PKIPlan(request: makeRequest(extraSANs: ["good.example", "bad,san"]))
        } throws: { error in
            let error = error as! ClusterupError
            return error.kind == .badInput && error.location == "pki.extra_sans[1]" && error.message.contains("bad,san")
        }
    }

    @Test func badSettingsAreRejectedWithTheirField() {
        var request = makeRequest()
        request.settings.serviceCIDR = "10.96.0.0"
        #expect(throws: ClusterupError.badInput("'10.96.0.0' is not a CIDR block", at: "pki.service_cidr",
                                                hint: "write it as address/prefix, e.g. 10.96.0.0/12")) {
            try PKIPlan(request: request)
        }
        request = makeRequest()
        request.settings.renewBefore = request.settings.leafValidity
        #expect { try PKIPlan(request: request) } throws: { ($0 as? ClusterupError)?.location == "pki.renew_before" }
        request = makeRequest()
        request.nodes[1].name = "node1"
        #expect { try PKIPlan(request: request) } throws: { ($0 as? ClusterupError)?.message.contains("twice") == true }
        request = makeRequest()
        request.nodes[0].addresses = ["not an address"]
        #expect { try PKIPlan(request: request) } throws: { ($0 as? ClusterupError)?.location == "host node1, address[0]" }
    }
}
