import ClusterupCore
import ClusterupVerify
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// Renewed certificates rolled out on a running 3-node lab: a serving certificate is picked up
/// without any restart, a client certificate restarts exactly its reader, and what each server
/// presents is checked on the wire. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab, deploys onto it and renews certificates"))
struct CertificatesLabTests {
    static let units = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "haproxy", "clusterup-vrrpd"]

    /// A command on a lab node (stdout): over SSH here, through the node's namespaces in
    /// ReleaseLabTests, which runs these checks on Debian 13 nodes.
    typealias NodeShell = @Sendable (_ node: String, _ command: String) async throws -> String

    /// "node: unit" → MainPID, for every unit on every node.
    static func mainPIDs(_ nodes: [String], _ shell: NodeShell) async throws -> [String: String] {
        var pids: [String: String] = [:]
        for node in nodes {
            let output = try await shell(node, Self.units.map { "systemctl show -p MainPID --value \($0).service" }.joined(separator: "; "))
            let values = output.split(separator: "\n").map(String.init)
            #expect(values.count == Self.units.count, "\(node): \(output)")
            for (unit, pid) in zip(Self.units, values) {
                #expect(pid != "0", "\(node) \(unit) is not running")
                pids["\(node): \(unit)"] = pid
            }
        }
        return pids
    }

    /// Serial served by each host endpoint (the VIP's answer depends on the backend chosen).
    static func servedSerials(_ inventory: Inventory) async throws -> [String: String] {
        let endpoints = ServedEndpoints.plan(inventory, hosts: inventory.hosts).filter { $0.host != nil }
        let client = inventory.pki.directory + "/nodes/\(inventory.hosts[0].name)/etcd/healthcheck-client"
        let reads = await ServedCertificateReader.readAll(endpoints, client: (client + ".crt", client + ".key"))
        var serials: [String: String] = [:]
        for endpoint in endpoints { serials["\(endpoint.host!) \(endpoint.kind.rawValue)"] = try reads[endpoint]!.get().serial }
        return serials
    }

    static func changed(_ before: [String: String], _ after: [String: String]) -> [String] {
        before.keys.filter { before[$0] != after[$0] }.sorted()
    }

    /// The renewal's properties on a deployed lab running clusterup-vrrpd (every unit of `units`
    /// runs on every node, node2 and node3 among them): verify checks the served certificates of
    /// every host and the VIP; a renewed serving certificate (etcd-peer@node3) is served at once
    /// with no restart anywhere; a renewed client certificate (apiserver-etcd-client@node2)
    /// restarts exactly node2's apiserver, drained, with no failed probe through the VIP; verify
    /// passes after. ReleaseLabTests runs it on Debian 13 and on a mixed cluster.
    static func renewAServingAndAClientLeaf(_ path: String, nodes: [String], shell: NodeShell) async throws {
        let verify = try await ClusterupBinary.run(["verify", path], limit: 120)
        #expect(verify.status == 0, "\(verify.output)")
        // One line per host and one for the VIP.
        #expect(verify.output.components(separatedBy: "served-certificates  ok").count - 1 == nodes.count + 1, "\(verify.output)")
        let inventory = try InventoryLoader().load(path: path)

        // A serving certificate: installed on node3 only, served there at once, nothing restarts.
        let pids = try await Self.mainPIDs(nodes, shell)
        let served = try await Self.servedSerials(inventory)
        let peer = try await ClusterupBinary.run(["certs", "renew", path, "etcd-peer@node3", "--deploy", "--output", "json"], limit: 240)
        #expect(peer.status == 0, "\(peer.output)")
        #expect(peer.output.contains("\"restarted\": []"), "\(peer.output)")
        let servedAfterPeer = try await Self.servedSerials(inventory)
        #expect(Self.changed(served, servedAfterPeer) == ["node3 etcd peer"])
        #expect(try await Self.mainPIDs(nodes, shell) == pids)

        // A client certificate of node2's apiserver: only that apiserver restarts, drained, and no
        // probe through the VIP fails.
        let client = try await ClusterupBinary.run(["certs", "renew", path, "apiserver-etcd-client@node2", "--deploy"], limit: 240)
        #expect(client.status == 0, "\(client.output)")
        #expect(client.output.contains("restarted: node2: kube-apiserver.service\n"), "\(client.output)")
        #expect(client.output.contains("drained on \(nodes.joined(separator: ", "))"), "\(client.output)")
        #expect(client.output.contains("total: tcp 0/"), "\(client.output)")
        #expect(client.output.contains("readyz 0/"), "\(client.output)")
        let pidsAfter = try await Self.mainPIDs(nodes, shell)
        #expect(Self.changed(pids, pidsAfter) == ["node2: kube-apiserver"])
        #expect(Self.changed(servedAfterPeer, try await Self.servedSerials(inventory)).isEmpty)

        let again = try await ClusterupBinary.run(["verify", path], limit: 120)
        #expect(again.status == 0, "\(again.output)")
    }

    @Test func renewedLeavesReachTheirServersWithoutRestartingAnythingElse() async throws {
        let name = LabFixture.name("cerenew")
        let state = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        let path = try Lab.inventoryPath(name: name)
        do {
            let deploy = try await ClusterupBinary.run(["deploy", path], limit: 240)
            #expect(deploy.status == 0, "\(deploy.output)")
            try await Self.renewAServingAndAClientLeaf(path, nodes: state.nodes.map(\.name)) { try await labSSH(state, $0, $1) }
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }
}
