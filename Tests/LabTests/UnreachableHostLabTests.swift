import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// Dead and unreachable hosts (`lab node stop`): deploy stops before any change, or with
/// --skip-unreachable deploys the others and leaves it alone; a host removed from the inventory
/// while down leaves etcd, HAProxy and VRRP on the others. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab and stops a node"))
struct UnreachableHostLabTests {
    typealias Run = ClusterupBinary.Run

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 240)
    }

    func node(_ node: String, _ command: String, lab: String) async throws -> String {
        try await LabFixture.shell(node, command, lab: lab)
    }

    static let etcdctl = """
        etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
        --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key
        """

    @Test func anUnreachableHostStopsDeployUnlessSkippedAndADeadHostIsRemovedThroughTheOthers() async throws {
        let lab = "reldead"
        try await LabFixture.with(lab, nodes: 3) { inventory in
            let first = try await clusterup(["deploy", inventory])
            try #require(first.status == 0, "\(first.output)")
            let vrrpConfig = "/etc/clusterup/vrrpd.yaml"
            let before = try await node("node3", "cat \(vrrpConfig)", lab: lab)
            let node1Before = try await node("node1", "cat \(vrrpConfig)", lab: lab)
            #expect(before.contains("advert_interval: 100ms") && node1Before.contains("advert_interval: 100ms"), "\(before)")

            // A change for every lb host, with node3 down.
            let text = try String(contentsOfFile: inventory, encoding: .utf8)
            let changed = inventory.replacingOccurrences(of: "inventory.yml", with: "changed.yml")
            try text.replacingOccurrences(of: "advert_interval: 100ms", with: "advert_interval: 150ms")
                .write(toFile: changed, atomically: true, encoding: .utf8)
            try await Lab.stopNode("node3", lab: lab)

            // Without the flag: refused in the connect phase, naming node3, nothing changed.
            let refused = try await clusterup(["deploy", changed])
            #expect(refused.status != 0, "\(refused.output)")
            #expect(refused.output.contains("deploy failed in phase 'connect'"), "\(refused.output)")
            #expect(refused.output.contains("node3 cannot be reached; nothing was changed on any host"), "\(refused.output)")
            #expect(refused.output.contains("--skip-unreachable"), "\(refused.output)")
            #expect(try await node("node1", "cat \(vrrpConfig)", lab: lab) == node1Before)

            // With it: node1 and node2 get the change, node3 is named as skipped, etcd and HAProxy
            // are checked on the reachable hosts.
            let skipped = try await clusterup(["deploy", changed, "--skip-unreachable"])
            #expect(skipped.status == 0, "\(skipped.output)")
            #expect(skipped.output.contains("skipped node3 (unreachable: "), "\(skipped.output)")
            #expect(skipped.output.contains("etcd: 2 reachable member(s) healthy over TLS (1 skipped, not checked)"), "\(skipped.output)")
            #expect(skipped.output.contains("HAProxy: 2 apiserver backend(s) up on every reachable lb host"), "\(skipped.output)")
            let node1Config = try await node("node1", "cat \(vrrpConfig)", lab: lab)
            #expect(node1Config.contains("advert_interval: 150ms"), "\(node1Config)")
            // node3 still holds its member: it is in the inventory.
            let membersWhileSkipped = try await node("node1", "\(Self.etcdctl) member list", lab: lab)
            #expect(membersWhileSkipped.split(separator: "\n").count == 3, "\(membersWhileSkipped)")

            // Back up, node3 still has the old configuration: the skipped host was not touched.
            try await Lab.startNode("node3", lab: lab)
            #expect(try await node("node3", "cat \(vrrpConfig)", lab: lab) == before)
            let converged = try await clusterup(["deploy", changed])
            #expect(converged.status == 0, "\(converged.output)")
            #expect(try await node("node3", "cat \(vrrpConfig)", lab: lab).contains("advert_interval: 150ms"))

            // node3 dies and leaves the inventory: its member goes through node1, the others'
            // HAProxy and VRRP configuration drop it, and the report says what stays on node3.
            try await Lab.stopNode("node3", lab: lab, mode: .kill)
            let withoutNode3 = inventory.replacingOccurrences(of: "inventory.yml", with: "without-node3.yml")
            let node3Address = try #require(try Lab.status(name: lab).nodes.first { $0.name == "node3" }?.address)
            try String(contentsOfFile: changed, encoding: .utf8)
                .replacingOccurrences(of: "  - name: node3\n    address: \(node3Address)\n    roles: [etcd, control-plane, lb]\n", with: "")
                .write(toFile: withoutNode3, atomically: true, encoding: .utf8)
            #expect(try !String(contentsOfFile: withoutNode3, encoding: .utf8).contains("node3"))
            let removed = try await clusterup(["deploy", withoutNode3])
            #expect(removed.status == 0, "\(removed.output)")
            #expect(removed.output.contains("etcd: member node3 removed"), "\(removed.output)")
            #expect(removed.output.contains("node3: removed from etcd through node1; it is no longer in the inventory"), "\(removed.output)")
            #expect(removed.output.contains("cleaned nothing there"), "\(removed.output)")
            #expect(removed.output.contains("HAProxy: 2 apiserver backend(s) up on every lb host"), "\(removed.output)")
            let members = try await node("node2", "\(Self.etcdctl) member list", lab: lab)
            #expect(members.split(separator: "\n").count == 2 && !members.contains("node3"), "\(members)")
            for survivor in ["node1", "node2"] {
                let haproxy = try await node(survivor, "grep -c '^    server ' /etc/haproxy/haproxy.cfg; grep -l -e node3 -e '\(node3Address)' /etc/haproxy/haproxy.cfg \(vrrpConfig)", lab: lab)
                #expect(haproxy.split(separator: "\n") == ["2"], "\(survivor): backends, then files still naming node3: \(haproxy)")
            }
            let verify = try await clusterup(["verify", withoutNode3])
            #expect(verify.status == 0, "\(verify.output)")
        }
    }
}
