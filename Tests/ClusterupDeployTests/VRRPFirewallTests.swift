import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// vrrp.firewall: the nftables allow-list deploy renders for each lb host.
@Suite struct VRRPFirewallTests {
    func inventory(firewall: String = "true", vip: String = "198.51.100.62", hosts: String? = nil) throws -> Inventory {
        try InventoryLoader(environment: [:], homeDirectory: "/nonexistent", currentDirectory: "/tmp").parse(yaml: """
            cluster: demo
            hosts:
            \(hosts ?? """
              - {name: node1, address: 203.0.113.11, private_address: 198.51.100.11, roles: [etcd, control-plane, lb]}
              - {name: node2, address: 203.0.113.12, private_address: 198.51.100.12, roles: [etcd, control-plane, lb]}
              - {name: node3, address: 203.0.113.13, private_address: 198.51.100.13, roles: [etcd, control-plane]}
              - {name: node4, address: 203.0.113.14, private_address: 198.51.100.14, roles: [lb]}
            """)
            vip: {address: \(vip), port: 8443}
            vrrp:
              interface: eth0
              firewall: \(firewall)
            """, path: "/tmp/demo.yml")
    }

    func rules(_ host: String, _ inventory: Inventory) throws -> String {
        let host = try #require(inventory.hosts.first { $0.name == host })
        return try LoadBalancerComponent.firewallRules(for: host, inventory: inventory, templates: TemplateSet())
    }

    @Test func eachLbHostAcceptsVRRPFromTheOtherLbHostsPrivateAddressesOnly() throws {
        let inventory = try inventory()
        let node1 = try rules("node1", inventory)
        #expect(node1.contains("elements = { 198.51.100.12, 198.51.100.14 }\n"), "\(node1)")
        #expect(node1.contains("ip protocol 112 ip saddr @lb_peers ip daddr { 224.0.0.18, 198.51.100.11 } counter accept"))
        #expect(!node1.contains("203.0.113."), "private addresses, not the SSH addresses")
        #expect(!node1.contains("198.51.100.13"), "node3 is not an lb host")
        let accept = try #require(node1.range(of: "counter accept"))
        let drop = try #require(node1.range(of: "ip protocol 112 counter drop"))
        #expect(accept.lowerBound < drop.lowerBound, "everything the accept rule leaves is dropped")
        let node4 = try rules("node4", inventory)
        #expect(node4.contains("elements = { 198.51.100.11, 198.51.100.12 }\n"), "\(node4)")
        #expect(node4.contains("daddr { 224.0.0.18, 198.51.100.14 }"))
    }

    @Test func theRulesetTouchesOnlyItsOwnTableAndReplacesItWhole() throws {
        let text = try rules("node1", try inventory())
        let tables = text.split(separator: "\n").filter { $0.hasPrefix("table ") || $0.hasPrefix("delete ") || $0.hasPrefix("flush ") }
        #expect(tables == ["table inet clusterup_vrrp {}", "delete table inet clusterup_vrrp", "table inet clusterup_vrrp {"])
        #expect(text.contains("type filter hook input priority -10; policy accept;"), "it drops VRRP only, never other traffic")
    }

    @Test func aSingleLbHostAcceptsNoVRRPAtAll() throws {
        let single = try inventory(hosts: "  - {name: solo, address: 198.51.100.21, roles: [etcd, control-plane, lb]}")
        let text = try rules("solo", single)
        #expect(!text.contains("elements"), "\(text)")
        #expect(text.contains("ip protocol 112 counter drop"))
    }

    @Test(.requiresRoot("nft -c checks a ruleset against the kernel's netlink"),
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"), "needs nftables (/usr/sbin/nft)"))
    func nftAcceptsTheRenderedRuleset() throws {
        for (host, inventory) in [("node1", try inventory()),
                                  ("solo", try inventory(hosts: "  - {name: solo, address: 198.51.100.21, roles: [lb]}"))] {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("cu-vrrp-\(UUID().uuidString).nft").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try rules(host, inventory).write(toFile: file, atomically: true, encoding: .utf8)
            let nft = try ProcessRunner.run("/usr/sbin/nft", ["-c", "-f", file])
            #expect(nft.status == 0, "\(host): \(nft.stderr)")
        }
    }

    @Test func lbHostsNeedNftOnlyWithTheFirewall() throws {
        let on = try inventory()
        let lbHost = try #require(on.hosts.first { $0.name == "node4" })
        #expect(ArtifactsPhase.needed(by: lbHost, on).contains("nft"))
        #expect(on.deploy.artifact("nft") == Artifact(name: "nft", source: .package("nftables"), path: "/usr/sbin/nft"))
        let off = try inventory(firewall: "false")
        #expect(!ArtifactsPhase.needed(by: lbHost, off).contains("nft"))
        #expect(off.vrrp?.firewall == false)
        let etcdOnly = try #require(on.hosts.first { $0.name == "node3" })
        #expect(!ArtifactsPhase.needed(by: etcdOnly, on).contains("nft"))
    }

    @Test func anIPv6VIPOrAnLbHostWithoutAnIPv4PrivateAddressIsRefused() throws {
        let v6 = try #require(throws: ClusterupError.self) { try inventory(vip: "2001:db8::62") }
        #expect(v6.kind == .badInput)
        #expect(v6.message.contains("IPv4 only"), "\(v6.message)")
        #expect("\(v6)".contains("vrrp.firewall"), "\(v6)")
        let named = try #require(throws: ClusterupError.self) {
            try inventory(hosts: """
                  - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane, lb]}
                  - {name: node2, address: lb2.example.internal, roles: [lb]}
                """)
        }
        #expect(named.kind == .badInput)
        #expect(named.message.contains("host node2 has 'lb2.example.internal'"), "\(named.message)")
        #expect("\(named)".contains("hosts[1].address"), "\(named)")
    }
}
