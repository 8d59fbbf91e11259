import ClusterupCore
import Foundation
import Testing
import VRRP
@testable import ClusterupLab
import TestSupport

/// `clusterup deploy` as a user runs it, against a real 3-node lab: the built binary, the lab's
/// inventory, nothing mocked. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab and deploys onto it"))
struct DeployLabTests {
    typealias Run = ClusterupBinary.Run

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 240)
    }

    func ssh(_ state: LabState, _ node: String, _ command: String) async throws -> String {
        try await labSSH(state, node, command)
    }

    @Test func deployFromBareNodesThenConvergeWithoutChanges() async throws {
        let name = "dpbare"
        let state = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        let inventory = try Lab.inventoryPath(name: name)
        do {
            // Bare nodes to a working control plane.
            let first = try await clusterup(["deploy", inventory])
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("etcd: bootstrap a new cluster of 3 member(s)"))
            #expect(first.output.contains("etcd: all 3 member(s) healthy over TLS"))
            #expect(first.output.contains("HAProxy: 3 apiserver backend(s) up on every lb host"))
            #expect(first.output.contains("is held by node"))
            // The closing summary says where the time went, phase by phase.
            for phase in ["write files", "etcd", "control plane", "total"] {
                #expect(first.output.split(separator: "\n").contains { $0.hasPrefix(phase + " ") && $0.contains(" s ") }, "\(phase)")
            }

            // The VIP answers: HAProxy on it reaches a ready apiserver (stand-in) over TLS.
            let vip = try state.plan.vipAddress
            let readyz = try await Blocking.run {
                try HostCommands().run("curl", ["-sk", "--max-time", "3", "https://\(vip):8443/readyz"]).stdout
            }
            #expect(readyz == "ok")

            // etcd: three started members, reached over TLS with the generated client certificate.
            let members = try await ssh(state, "node2", """
                ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
                --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \
                member list
                """)
            #expect(members.split(separator: "\n").filter { $0.contains(", started, node") }.count == 3, "\(members)")

            // Exactly one VRRP master holds the VIP.
            var holders = 0
            for node in ["node1", "node2", "node3"] where try await ssh(state, node, "ip -o addr").contains(" \(vip)/") {
                holders += 1
            }
            #expect(holders == 1)

            // Each node records which clusterup changed it, and status shows it.
            let versionLine = try await clusterup(["--version"]).output
            let version = try #require(versionLine.split(separator: " ").dropFirst().first.map(String.init), "\(versionLine)")
            let record = try await ssh(state, "node2", "cat /etc/clusterup/last-deploy")
            #expect(record.contains("\nversion=\(version)\n") && record.contains("\ndeployed_at=20"), "\(record)")
            let status = try await clusterup(["status", inventory])
            #expect(status.output.split(separator: "\n").filter { $0.contains(" clusterup \(version) (commit ") }.count == 3, "\(status.output)")

            // A re-run changes nothing; JSON gives each phase's wall and CPU time.
            let second = try await clusterup(["deploy", inventory, "--output", "json"])
            #expect(second.status == 0, "\(second.output)")
            // Nothing changed, so the record still names the first run.
            let recordAfter = try await ssh(state, "node2", "cat /etc/clusterup/last-deploy")
            #expect(recordAfter == record)
            // The pretty-printed document: from its "{" line to its closing "}" line (stderr follows it).
            let lines = second.output.split(separator: "\n", omittingEmptySubsequences: false)
            let start = try #require(lines.firstIndex(of: "{")), end = try #require(lines.firstIndex(of: "}"))
            let document = lines[start...end].joined(separator: "\n")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any], "\(second.output)")
            #expect(report["changes"] as? Int == 0, "\(second.output)")
            let plan = try #require((report["phases"] as? [String: Any])?["plan"] as? [String: Any])
            #expect((plan["seconds"] as? Double ?? -1) > 0)
            #expect((plan["cpu_seconds"] as? Double ?? -1) >= 0)
            #expect(((report["phases"] as? [String: Any])?["write files"] as? [String: Any])?["skipped"] != nil)
            #expect((report["seconds"] as? Double ?? 0) >= (plan["seconds"] as? Double ?? 1))

            // A dry run after editing one setting shows exactly that change, and changes nothing.
            let edited = inventory.replacingOccurrences(of: "inventory.yml", with: "edited.yml")
            let text = try String(contentsOfFile: inventory, encoding: .utf8)
            try text.replacingOccurrences(of: "advert_interval: 100ms", with: "advert_interval: 200ms")
                .write(toFile: edited, atomically: true, encoding: .utf8)
            let dry = try await clusterup(["deploy", edited, "--dry-run"])
            #expect(dry.status == 0, "\(dry.output)")
            let wouldLines = dry.output.split(separator: "\n").filter { $0.contains(": would ") }
            #expect(wouldLines.count == 6, "\(wouldLines)")  // per node: update vrrpd.yaml, reload the daemon
            #expect(wouldLines.filter { $0.contains("would update /etc/clusterup/vrrpd.yaml") }.count == 3)
            #expect(wouldLines.filter { $0.contains("would reload clusterup-vrrpd.service") }.count == 3)
            #expect(dry.output.contains("would change 6 item(s) on 3 host(s)"))
            #expect(dry.output.contains("-    advert_interval: 100ms"))
            #expect(dry.output.contains("+    advert_interval: 200ms"))
            let after = try await clusterup(["deploy", inventory, "--dry-run"])
            #expect(after.output.contains("dry run: no changes"), "\(after.output)")

            // The daemon binary deploy uploaded is named with its digest, and a node refuses to
            // start a binary changed since; the next deploy puts the right one back.
            #expect(first.output.contains("clusterup-vrrpd: /") && first.output.contains("(sha256 "), "\(first.output)")
            let tampered = try await ssh(state, "node3", """
                b=/usr/local/bin/clusterup-vrrpd; cp $b $b.new && printf x >> $b.new && mv $b.new $b; systemctl restart clusterup-vrrpd.service 2>/dev/null; \
                systemctl is-active clusterup-vrrpd.service; true
                """)
            #expect(tampered.trimmingCharacters(in: .whitespacesAndNewlines) != "active", "\(tampered)")
            let mended = try await clusterup(["deploy", inventory])
            #expect(mended.status == 0, "\(mended.output)")
            #expect(mended.output.contains("node3"), "\(mended.output)")
            let active = try await ssh(state, "node3", "systemctl is-active clusterup-vrrpd.service; true")
            #expect(active.trimmingCharacters(in: .whitespacesAndNewlines) == "active", "\(active)")
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }

    @Test func keepalivedBackendDeploysAndSwitchingBackendsStopsTheOtherDaemon() async throws {
        let name = "dpkeep"
        let state = try await Lab.up(name: name, nodes: 2, waitForAddressBlock: LabFixture.addressBlockWait)
        let inventory = try Lab.inventoryPath(name: name)
        do {
            let keepalived = inventory.replacingOccurrences(of: "inventory.yml", with: "keepalived.yml")
            let text = try String(contentsOfFile: inventory, encoding: .utf8)
            try text.replacingOccurrences(of: "vrrp:\n", with: "vrrp:\n  backend: keepalived\n")
                .write(toFile: keepalived, atomically: true, encoding: .utf8)
            let first = try await clusterup(["deploy", keepalived])
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("is held by node1"), "\(first.output)")
            #expect(try await ssh(state, "node1", "systemctl is-active keepalived") == "active\n")
            // The template's vrrp_rt_priority reaches the node: keepalived's VRRP process runs
            // SCHED_RR 10 (its parent stays under normal scheduling).
            let classes = try await ssh(state, "node1", "ps -o cls=,rtprio= -C keepalived")
            #expect(classes.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }.contains("RR 10"),
                    "keepalived's scheduling classes: \(classes)")

            // Back to clusterup-vrrpd: keepalived is stopped and disabled, our daemon holds the VIP.
            let switched = try await clusterup(["deploy", inventory])
            #expect(switched.status == 0, "\(switched.output)")
            #expect(switched.output.contains("disable keepalived"), "\(switched.output)")
            #expect(switched.output.contains("is held by node"))
            for node in ["node1", "node2"] {
                let states = try await ssh(state, node, "systemctl is-active keepalived clusterup-vrrpd; true")
                #expect(states == "inactive\nactive\n", "\(node): \(states)")
                let ours = try await ssh(state, node, "ps -o cls=,rtprio= -C clusterup-vrrpd")
                #expect(ours.split(separator: " ").joined(separator: " ") == "RR 10\n", "\(node): \(ours)")
            }
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }

    /// Packets counted by the allow-list's rule whose comment is `comment`, on one node.
    func firewallCount(_ state: LabState, _ node: String, _ comment: String) async throws -> Int {
        let chain = try await ssh(state, node, "nft list chain inet clusterup_vrrp input")
        let line = try #require(chain.split(separator: "\n").first { $0.contains("comment \"\(comment)\"") }, "\(chain)")
        let words = line.split(separator: " ")
        let packets = try #require(words.firstIndex(of: "packets"), "\(line)")
        return try #require(Int(words[packets + 1]))
    }

    @Test func vrrpFirewallDropsAdvertsFromAnyoneButTheLbHosts() async throws {
        let name = "dpfw"
        let state = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        let inventory = try Lab.inventoryPath(name: name)
        do {
            let fenced = inventory.replacingOccurrences(of: "inventory.yml", with: "firewall.yml")
            let text = try String(contentsOfFile: inventory, encoding: .utf8)
            try #require(text.contains("vrrp:\n"))
            try text.replacingOccurrences(of: "vrrp:\n", with: "vrrp:\n  firewall: true\n")
                .write(toFile: fenced, atomically: true, encoding: .utf8)
            let first = try await clusterup(["deploy", fenced])
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("is held by node"), "\(first.output)")
            let again = try await clusterup(["deploy", fenced])
            #expect(again.output.contains("deploy: no changes"), "\(again.output)")

            // The table is loaded on every lb host, naming the other two as its only VRRP peers.
            let addresses = Dictionary(uniqueKeysWithValues: state.nodes.map { ($0.name, $0.address) })
            for node in ["node1", "node2", "node3"] {
                #expect(try await ssh(state, node, "systemctl is-active clusterup-vrrp-firewall.service") == "active\n")
                let table = try await ssh(state, node, "nft list set inet clusterup_vrrp lb_peers")
                for (other, address) in addresses {
                    #expect(table.contains(address) == (other != node), "\(node) about \(other): \(table)")
                }
            }
            func holders() async throws -> [String] {
                var held: [String] = []
                for node in ["node1", "node2", "node3"] {
                    let addresses = try await ssh(state, node, "ip -o addr show")
                    if addresses.contains(" \(try state.plan.vipAddress)/") { held.append(node) }
                }
                return held
            }
            let before = try await holders()
            #expect(before.count == 1, "exactly one node holds the VIP: \(before)")
            var dropped: [String: Int] = [:]
            for node in ["node1", "node2", "node3"] {
                dropped[node] = try await firewallCount(state, node, "VRRP from anywhere else")
                // The peers' own adverts pass: each node accepted some (the master's, or the backups' at start).
                let accepted = try await firewallCount(state, node, "VRRP from the other lb hosts")
                #expect(accepted > 0 || before == [node], "\(node) accepted none of the master's adverts")
            }

            // From this machine's side of the lab bridge (not an lb host): priority 255 for the VIP
            // at the usual interval, which would take the VIP from any router that heard it.
            let forged = VRRPAdvertisement(version: .v3, vrid: UInt8(try state.plan.vrid), priority: 255, maxAdvertisementInterval: 10,
                                           addresses: [.v4(IPv4Address(try state.plan.vipAddress)!)], authentication: .none)
            let source = try state.plan.hostAddress
            let bytes = VRRPCodec.encode(forged, source: .v4(IPv4Address(source)!), destination: .v4(.vrrpMulticast))
            let hex = bytes.map { String(format: "%02x", $0) }.joined()
            // The kernel adds the IP header (protocol 112, TTL 255); IP_MULTICAST_IF keeps it on the lab bridge.
            func forge() async throws {
                _ = try await Blocking.run {
                    try HostCommands().run("python3", ["-c", """
                        import socket, sys, time
                        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
                        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
                        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
                        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[2]))
                        for _ in range(5):
                            s.sendto(bytes.fromhex(sys.argv[1]), ("224.0.0.18", 0))
                            time.sleep(0.05)
                        """, hex, source])
                }
            }
            /// How often the VIP holder has stepped down to Backup so far.
            func stepDowns(_ node: String) async throws -> Int {
                let log = try await ssh(state, node, "journalctl -u clusterup-vrrpd.service --no-pager -o cat")
                return log.split(separator: "\n").filter { $0.contains("from=Master to=Backup") }.count
            }
            let holder = try #require(before.first)
            let stepsBefore = try await stepDowns(holder)
            try await forge()
            try await Task.sleep(for: .seconds(1))
            for node in ["node1", "node2", "node3"] {
                let now = try await firewallCount(state, node, "VRRP from anywhere else")
                #expect(now - (dropped[node] ?? 0) >= 5, "\(node): the forged adverts were dropped and counted (\(dropped[node] ?? 0) -> \(now))")
            }
            #expect(try await holders() == before, "the VIP stayed where it was")
            #expect(try await stepDowns(holder) == stepsBefore, "\(holder) never heard the forged adverts")

            // firewall: false lifts the allow-list again.
            let lifted = try await clusterup(["deploy", inventory])
            #expect(lifted.status == 0, "\(lifted.output)")
            for node in ["node1", "node2", "node3"] {
                let table = try await ssh(state, node, "nft list table inet clusterup_vrrp >/dev/null 2>&1 && echo loaded || echo gone")
                #expect(table == "gone\n", "\(node): \(table)")
                let unit = try await ssh(state, node, "systemctl is-enabled clusterup-vrrp-firewall.service; systemctl is-active clusterup-vrrp-firewall.service; true")
                #expect(unit == "disabled\ninactive\n", "\(node): \(unit)")
            }
            // Without the allow-list the same adverts reach the daemons: the master steps down
            // (what the table prevented above).
            try await forge()
            try await Task.sleep(for: .seconds(1))
            #expect(try await stepDowns(holder) > stepsBefore, "without the firewall the forged adverts are heard")
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }
}
