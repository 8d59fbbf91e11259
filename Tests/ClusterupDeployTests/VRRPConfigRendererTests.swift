import ClusterupCore
import Testing
import VRRPConfig
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
                  scripts: [{name: it.s, command: "test -e '/run/x' && echo \\"ok\\""}]}
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

    @Test func maxIntervalFactorReachesTheDaemonIncludingZero() throws {
        #expect(try DaemonConfig.parse(try render(try inventory(), host: "node1"), file: "x").instances[0].maxIntervalFactor == 10)
        let zero = try render(try inventory(extra: "  max_interval_factor: 0"), host: "node1")
        #expect(zero.contains("max_interval_factor: 0"))
        #expect(try DaemonConfig.parse(zero, file: "x").instances[0].maxIntervalFactor == 0)
        #expect(try DaemonConfig.parse(try render(try inventory(extra: "  max_interval_factor: 4"), host: "node1"), file: "x")
            .instances[0].maxIntervalFactor == 4)
    }

    @Test func unicastModeChecksTTLAndKeepalivedChecksTheSource() throws {
        let ours = try render(try inventory(extra: "  unicast: true"), host: "node1")
        #expect(try DaemonConfig.parse(ours, file: "x").instances[0].unicastTTLCheck)
        let routed = try render(try inventory(extra: "  unicast: true\n  unicast_ttl_check: false"), host: "node1")
        #expect(try DaemonConfig.parse(routed, file: "x").instances[0].unicastTTLCheck == false)
        #expect(!(try render(try inventory(), host: "node1")).contains("unicast_ttl_check"))
        let keepalived = try render(try inventory(backend: "keepalived", extra: "  unicast: true"), host: "node1")
        #expect(keepalived.contains("check_unicast_src"))
        #expect(!(try render(try inventory(backend: "keepalived"), host: "node1")).contains("check_unicast_src"))
    }

    @Test func aDoubleQuoteInACheckCommandIsRefusedForKeepalived() throws {
        let inv = try inventory(backend: "keepalived", extra: """
          track: {scripts: [{name: x, command: "echo \\"ok\\""}]}
        """)
        let error = try #require(throws: ClusterupError.self) { try render(inv, host: "node1") }
        #expect(error.kind == .badInput)
        #expect(error.location?.contains("vrrp.track.scripts[0].command") == true)
    }

    @Test func quotedYAMLIsPrintableASCIIWithEscapes() {
        #expect(VRRPConfigRenderer.yamlQuoted("it's") == #""it's""#)
        #expect(VRRPConfigRenderer.yamlQuoted("a\"b\\c\nd") == #""a\"b\\c\nd""#)
        #expect(VRRPConfigRenderer.yamlQuoted("'\u{301}😀\r") == #""'\u0301\U0001F600\u000D""#)
    }

    /// Every string, quoted by deploy, reads back unchanged through the daemon's YAML reader: a
    /// quote followed by a combining mark, line breaks, controls and astral characters included.
    @Test func quotedYAMLReadsBackExactlyThroughTheDaemonsParser() throws {
        var state: UInt64 = 0x5EED_CAFE
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 27)
        }
        let pool: [Unicode.Scalar] = ["'", "\"", "\\", "#", ":", " ", "\n", "\r", "\t", "\u{0}", "\u{7F}", "\u{85}",
                                      "\u{301}", "\u{308}", "\u{2028}", "\u{FEFF}", "é", "😀", "a", "-", "{", "[", ","]
        for _ in 0..<500 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(next() % 20) { scalars.append(pool[Int(next() % UInt64(pool.count))]) }
            let text = String(scalars)
            let quoted = VRRPConfigRenderer.yamlQuoted(text)
            #expect(quoted.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
            let node = try YAMLSubset.parse("key: \(quoted)  # comment\n")
            guard case .mapping(let entries) = node.value, case .scalar(let back, quoted: true) = entries.first?.value.value else {
                Issue.record("no quoted scalar for \(Array(text.unicodeScalars))")
                continue
            }
            #expect(Array(back.unicodeScalars) == Array(text.unicodeScalars), "quoted as \(quoted)")
        }
    }
}
