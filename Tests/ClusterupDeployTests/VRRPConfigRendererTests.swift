import ClusterupCore
import Testing
import VRRPDaemon
@testable import ClusterupDeploy

@Suite struct VRRPConfigRendererTests {
    func inventory(backend: String = "clusterup-vrrpd", extra: String = "") throws -> Inventory {
        let yaml = """
        cluster: demo
        hosts:
          - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane, lb]}
          - {name: node2, address: 198.51.100.12, roles: [etcd, control-plane, lb]}
        vip: {address: 198.51.100.62, prefix: 26, port: 8443}
        vrrp:
          backend: \(backend)
          interface: host0
          vrid: 51
          version: 3
          advert_interval: 100ms
        \(extra)
        """
        return try InventoryLoader(environment: [:], homeDirectory: "/root", currentDirectory: "/srv")
            .parse(yaml: yaml, path: "/srv/inv.yml", displayName: "inv.yml")
    }

    func render(_ inventory: Inventory, host: String) throws -> String {
        try VRRPConfigRenderer.render(
            for: inventory.host(named: host)!, inventory: inventory, vrrp: inventory.vrrp!, vip: inventory.vip!,
            templates: try TemplateSet())
    }

    @Test func daemonConfigurationPassesTheDaemonsOwnValidator() throws {
        let inv = try inventory(extra: """
          track: {http: "http://127.0.0.1:8404/healthz", interval: 1s, timeout: 1s, rise: 2, fall: 2, weight: 0,
                  scripts: [{name: it's, command: "test -e '/run/x' && echo \\"ok\\""}]}
        """)
        let text = try render(inv, host: "node2")
        let config = try DaemonConfig.parse(text, file: "vrrpd.yaml")
        let instance = try #require(config.instances.first)
        #expect(instance.vrid == 51)
        #expect(instance.priority == 253)
        #expect(instance.advertInterval == .milliseconds(100))
        #expect(instance.interface == "host0")
        #expect(instance.track.http.count == 1)
        #expect(instance.track.scripts.first?.command == #"test -e '/run/x' && echo "ok""#)
    }

    @Test func keepalivedConfigurationCarriesTheSameElection() throws {
        let text = try render(try inventory(backend: "keepalived"), host: "node1")
        #expect(text.contains("vrrp_version 3"))
        #expect(text.contains("virtual_router_id 51"))
        #expect(text.contains("priority 254"))
        #expect(text.contains("advert_int 0.100"))
        #expect(text.contains("198.51.100.62/26 dev host0"))
    }

    @Test func realtimePriorityReachesBothDaemons() throws {
        let daemon = try DaemonConfig.parse(try render(try inventory(), host: "node1"), file: "vrrpd.yaml")
        #expect(daemon.realtimePriority == 10)
        let normal = try inventory(extra: "  realtime_priority: 0")
        #expect(try DaemonConfig.parse(try render(normal, host: "node1"), file: "vrrpd.yaml").realtimePriority == 0)
        #expect(try render(try inventory(backend: "keepalived"), host: "node1").contains("    vrrp_rt_priority 10\n"))
        #expect(try render(try inventory(backend: "keepalived", extra: "  realtime_priority: 30"), host: "node1")
            .contains("    vrrp_rt_priority 30\n"))
        #expect(!(try render(try inventory(backend: "keepalived", extra: "  realtime_priority: 0"), host: "node1")
            .contains("vrrp_rt_priority")))
    }

    @Test func durationsUseEachDaemonsUnits() {
        #expect(VRRPConfigRenderer.text(.milliseconds(100)) == "100ms")
        #expect(VRRPConfigRenderer.text(.seconds(2)) == "2s")
        #expect(VRRPConfigRenderer.seconds(.milliseconds(10)) == "0.010")
        #expect(VRRPConfigRenderer.seconds(.seconds(1)) == "1")
    }

    @Test func singleQuotedYAMLDoublesQuotes() {
        #expect(VRRPConfigRenderer.yamlSingleQuoted("it's") == "'it''s'")
    }
}
