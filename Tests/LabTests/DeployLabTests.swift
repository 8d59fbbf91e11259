import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab

/// `clusterup deploy` as a user runs it, against a real 3-node lab: the built binary, the lab's
/// inventory, nothing mocked. Root only.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root: boots a 3-node lab and deploys onto it"))
struct DeployLabTests {
    typealias Run = ClusterupBinary.Run

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 240)
    }

    func ssh(_ state: LabState, _ node: String, _ command: String) async throws -> String {
        let paths = LabPaths(name: try LabName(state.name))
        let address = state.nodes.first { $0.name == node }!.address
        return try await Blocking.run {
            try HostCommands().run("ssh", [
                "-i", paths.privateKey, "-o", "UserKnownHostsFile=\(paths.knownHosts)", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "GlobalKnownHostsFile=/dev/null", "root@\(address)", command,
            ]).stdout
        }
    }

    @Test func deployFromBareNodesThenConvergeWithoutChanges() async throws {
        let name = "dpbare"
        let state = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: 180)
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
        let state = try await Lab.up(name: name, nodes: 2, waitForAddressBlock: 180)
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
}
