import Foundation
import Mustache
import Testing
import TestSupport

/// templates/keepalived.conf.mustache renders a configuration keepalived itself accepts.
@Suite struct DaemonKeepalivedTemplateTests {
    static let templatePath = Repository.path("templates/keepalived.conf.mustache")

    func render(_ context: [String: Any]) throws -> String {
        try MustacheTemplate(string: String(contentsOfFile: Self.templatePath, encoding: .utf8)).render(context)
    }

    static var everything: [String: Any] { [
        "router_id": "node1", "version": 2, "checksum_as_v2": false, "garp_interval": 0.001, "rt_priority": 10,
        "scripts": [["name": "chk_api", "command": "/usr/bin/curl -fsk --max-time 1 https://127.0.0.1:6443/readyz",
                     "interval": 1, "timeout": 1, "rise": 2, "fall": 2, "weight": 0]],
        "instances": [[
            "name": "api", "interface": "eth0", "vrid": 51, "priority": 254, "advert_int": "1",
            "preempt": true, "preempt_delay": "5", "auth_password": "secret",
            "unicast_src": "198.51.100.11", "has_unicast_peers": true, "unicast_peers": ["198.51.100.12", "198.51.100.13"],
            "vips": [["address": "198.51.100.62", "prefix": 26]],
            "garp_repeat": 5, "garp_delay": 0, "garp_refresh": 60,
            "has_track_scripts": true, "track_scripts": ["chk_api"],
            "has_track_interfaces": true, "track_interfaces": ["eth1"],
            "notify": ["/usr/local/bin/vip-changed"],
        ] as [String: Any]],
    ] }

    @Test func everyFeatureRendersToItsKeepalivedKeyword() throws {
        let text = try render(Self.everything)
        for line in ["vrrp_version 2", "virtual_router_id 51", "priority 254", "advert_int 1", "preempt_delay 5",
                     "auth_pass secret", "unicast_src_ip 198.51.100.11", "        198.51.100.13",
                     "198.51.100.62/26 dev eth0", "garp_master_refresh 60", "        chk_api",
                     "script \"/usr/bin/curl -fsk --max-time 1 https://127.0.0.1:6443/readyz\"",
                     "notify \"/usr/local/bin/vip-changed\"", "    vrrp_rt_priority 10\n"] {
            #expect(text.contains(line), "missing: \(line)\n\(text)")
        }
        #expect(!text.contains("nopreempt"))
        #expect(!text.contains("&"), "HTML escaping must be off")
    }

    @Test func messageOnlyChecksumTurnsOnV3ChecksumAsV2() throws {
        var context = Self.everything
        context["version"] = 3
        context["checksum_as_v2"] = true
        #expect(try render(context).contains("v3_checksum_as_v2"))
        context["checksum_as_v2"] = false
        #expect(!(try render(context).contains("v3_checksum_as_v2")))
    }

    @Test func garpIntervalIsGlobalAndOptional() throws {
        #expect(try render(Self.everything).contains("    vrrp_garp_interval 0.001\n"))
        var context = Self.everything
        context["garp_interval"] = nil
        #expect(!(try render(context).contains("vrrp_garp_interval")))
    }

    @Test func realtimePriorityIsGlobalAndOptional() throws {
        var context = Self.everything
        context["rt_priority"] = 30
        #expect(try render(context).contains("    vrrp_rt_priority 30\n"))
        #expect(try render(context).contains("    vrrp_rlimit_rttime 1000000\n"))
        context["rt_priority"] = false
        #expect(!(try render(context).contains("vrrp_rt_priority")))
        #expect(!(try render(context).contains("vrrp_rlimit_rttime")))
    }

    @Test func noPreemptLeavesOutThePreemptDelay() throws {
        var context = Self.everything
        var instance = (context["instances"] as! [[String: Any]])[0]
        instance["preempt"] = false
        context["instances"] = [instance]
        let text = try render(context)
        #expect(text.contains("nopreempt"))
        #expect(!text.contains("preempt_delay"))
    }

    @Test(.requiresRoot("makes a network namespace for keepalived -t"),
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived"), "needs keepalived (/usr/sbin/keepalived)"))
    func keepalivedAcceptsTheRenderedConfiguration() throws {
        // keepalived -t checks that the interfaces exist: give it a namespace with eth0 and eth1.
        let ns = "cuvt-\(getpid() % 100_000)-kt"  // lab/netns.sh's family of names
        try ProcessRunner.shell("ip netns add \(ns) && ip -n \(ns) link add eth0 type veth peer name eth1").check("ip netns add")
        defer { _ = try? ProcessRunner.shell("ip netns del \(ns)") }
        let path = NSTemporaryDirectory() + "cuvt-ka-\(getpid()).conf"
        try render(Self.everything).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output: String
        do {
            output = try ProcessRunner.shell("ip netns exec \(ns) /usr/sbin/keepalived -t -f \(path) 2>&1").check("keepalived -t").output
        } catch {
            Issue.record("keepalived rejected the rendered configuration: \(error)")
            return
        }
        #expect(!output.contains("Unknown keyword"), "\(output)")
    }
}
