import Testing
@testable import ClusterupDeploy

/// Which services a changed PKI file restarts: a renewed serving certificate restarts nothing
/// (its server reloads it), a client certificate or a CA restarts the services that read it at start.
@Suite struct PKIConsumersTests {
    @Test func servingPairsRestartNothing() {
        for file in ["etcd/server.crt", "etcd/server.key", "etcd/peer.crt", "etcd/peer.key", "apiserver.crt", "apiserver.key"] {
            #expect(DeployInputs.consumers(ofPKIFile: file).isEmpty, "\(file)")
        }
    }

    @Test func clientCertificatesAndCAsRestartTheirReaders() {
        #expect(DeployInputs.consumers(ofPKIFile: "apiserver-etcd-client.crt") == ["kube-apiserver.service"])
        #expect(DeployInputs.consumers(ofPKIFile: "apiserver-kubelet-client.key") == ["kube-apiserver.service"])
        #expect(DeployInputs.consumers(ofPKIFile: "front-proxy-client.crt") == ["kube-apiserver.service"])
        #expect(DeployInputs.consumers(ofPKIFile: "etcd/ca.crt") == ["etcd.service", "kube-apiserver.service"])
        #expect(DeployInputs.consumers(ofPKIFile: "ca.crt") == ["kube-apiserver.service", "kube-controller-manager.service"])
        #expect(DeployInputs.consumers(ofPKIFile: "etcd/healthcheck-client.crt").isEmpty)
    }
}
