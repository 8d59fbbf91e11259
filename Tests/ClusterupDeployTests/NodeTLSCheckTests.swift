import ClusterupCore
import Testing
@testable import ClusterupDeploy

@Suite struct NodeTLSCheckTests {
    func inventory(backend: String, http: String?) throws -> Inventory {
        var text = """
            cluster: t
            hosts:
              - {name: n1, address: 198.51.100.11, roles: [lb, etcd, control-plane]}
            vip: {address: 198.51.100.62, prefix: 24}
            vrrp:
              backend: \(backend)
              interface: eth0
            """
        if let http { text += "\n  track: {http: \"\(http)\"}" }
        return try InventoryLoader(environment: [:], homeDirectory: "/nonexistent", currentDirectory: "/tmp").parse(yaml: text, path: "/tmp/inv.yml")
    }

    @Test func onlyClusterupVRRPDWithAnHTTPSCheckAsksTheNodes() throws {
        #expect(NodeTLSCheck.needed(try inventory(backend: "clusterup-vrrpd", http: "https://127.0.0.1:6443/readyz")))
        #expect(!NodeTLSCheck.needed(try inventory(backend: "clusterup-vrrpd", http: "http://127.0.0.1:8404/healthz")))
        #expect(!NodeTLSCheck.needed(try inventory(backend: "clusterup-vrrpd", http: nil)))
        #expect(!NodeTLSCheck.needed(try inventory(backend: "keepalived", http: "https://127.0.0.1:6443/readyz")))
    }

    @Test func aNodeWithoutLibsslIsAProblemThatSaysWhatToInstall() throws {
        #expect(NodeTLSCheck.problem("libssl3\n", url: "https://x") == nil)
        let problem = try #require(NodeTLSCheck.problem("missing\n", url: "https://127.0.0.1:6443/readyz"))
        #expect(problem.contains("apt install libssl3"))
        #expect(problem.contains("https://127.0.0.1:6443/readyz"))
    }

    @Test func theProbeAnswersOnThisMachine() throws {
        // This machine runs clusterup, which links libssl.so.3: the probe must find it here.
        let answer = try runShell(NodeTLSCheck.probe)
        #expect(NodeTLSCheck.problem(answer, url: "https://x") == nil, "probe printed \(answer)")
    }
}
