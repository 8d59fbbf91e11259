import ClusterupCore
import ClusterupRollout
import ClusterupVerify
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// Moving a cluster from Debian 12 to Debian 13 by replacing nodes one at a time, as an operator
/// does it: edit the inventory, look at the dry run, deploy; three times. The VIP is probed through
/// the whole sequence with the rollout's AvailabilityWatch (TCP connects and GET /readyz verified
/// against the cluster CA). Root only; needs the Debian 13 image (built on first use).
@Suite(.serialized, .requiresRoot("boots a mixed lab and replaces its nodes under probes"))
struct ReplaceLabTests {
    typealias Run = ClusterupBinary.Run

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 300)
    }

    /// The lab's inventory with only `keep`'s host entries (the lab writes every node it has).
    static func inventory(_ labInventory: String, keeping keep: [String], state: LabState) -> String {
        var text = labInventory
        for node in state.nodes where !keep.contains(node.name) {
            text = text.replacingOccurrences(of: "  - name: \(node.name)\n    address: \(node.address)\n    roles: [etcd, control-plane, lb]\n", with: "")
        }
        return text
    }

    @Test func threeDebian12NodesAreReplacedByDebian13OnesWithTheVIPProbedThroughout() async throws {
        let lab = LabFixture.name("u18rep")
        try await LabFixture.with(lab, nodes: 3, release: nil) { labInventory in
            let first = try await clusterup(["deploy", labInventory])
            try #require(first.status == 0, "\(first.output)")
            // The floor for a step's time (bench/replace/run): a deploy that has nothing to change.
            let noopStarted = Date()
            let noop = try await clusterup(["deploy", labInventory])
            let noopSeconds = Date().timeIntervalSince(noopStarted)
            #expect(noop.output.contains("deploy: no changes"), "\(noop.output)")
            let directory = (labInventory as NSString).deletingLastPathComponent
            let working = "\(directory)/replace.yml", retiring = "\(directory)/retire.yml"
            let loaded = try InventoryLoader().load(path: labInventory)
            let vip = try #require(loaded.vip)
            let watch = AvailabilityWatch(.init(target: ProbeTarget(host: vip.address, port: vip.port),
                                                readyz: HTTPSProbe(caFile: loaded.pki.directory + "/ca.crt")))
            try await DedicatedThread.run(name: "replace-watch") { try watch.start() }
            var members = ["node1", "node2", "node3"]
            var retiredHolder = false
            do {
                for round in 1...3 {
                    let old = "node\(round)", new = "node\(3 + round)"
                    // A Debian 13 node joins: the dry run names exactly the new member, then deploy adds it.
                    watch.mark(step: "add \(new)", host: new)
                    let state = try await Lab.grow(name: lab, nodes: 3 + round, release: .trixie)
                    members.append(new)
                    try Self.inventory(try String(contentsOfFile: labInventory, encoding: .utf8), keeping: members, state: state)
                        .write(toFile: working, atomically: true, encoding: .utf8)
                    let addPlan = try await clusterup(["deploy", working, "--dry-run"])
                    #expect(addPlan.status == 0 && addPlan.output.contains("etcd: would add member \(new)"), "\(addPlan.output)")
                    #expect(!addPlan.output.contains("would remove member"), "\(addPlan.output)")
                    let added = try await clusterup(["deploy", working])
                    try #require(added.status == 0, "\(added.output)")
                    #expect(added.output.contains("etcd: member \(new) joined"), "\(added.output)")
                    #expect(added.output.contains("etcd: all 4 member(s) healthy over TLS"), "\(added.output)")
                    #expect(added.output.contains("HAProxy: 4 apiserver backend(s) up on every lb host"), "\(added.output)")
                    // The running apiservers restart (their SANs and --etcd-servers name the new
                    // member), each drained from every running HAProxy first and taken back after.
                    #expect(added.output.contains("kube-apiserver drained on"), "\(added.output)")
                    #expect(added.output.contains("kube-apiserver back in rotation on"), "\(added.output)")

                    // A Debian 12 node leaves. First its services stop (reset, with an inventory
                    // naming only it): its VRRP daemon resigns, so the VIP moves before anything
                    // else, and its etcd member stops (3 of 4 still run). Then deploy without it:
                    // the member is removed through a running one, and the others' HAProxy, VRRP
                    // and apiserver flags drop it. In the other order the leaving node, outside the
                    // inventory, would keep holding the VIP.
                    watch.mark(step: "retire \(old)", host: old)
                    try Self.inventory(try String(contentsOfFile: labInventory, encoding: .utf8), keeping: [old], state: state)
                        .write(toFile: retiring, atomically: true, encoding: .utf8)
                    let reset = try await clusterup(["reset", retiring, "--yes"])
                    #expect(reset.status == 0, "\(reset.output)")
                    // Its apiserver, still in the other HAProxies' rotation, refused new connections
                    // (they went elsewhere) and let open ones end before it stopped.
                    #expect(reset.output.contains("kube-apiserver refused new connections"), "\(reset.output)")
                    if reset.output.contains("handed over the VIP") {
                        retiredHolder = true
                        // The holder forwarded what still reached it while the VIP moved.
                        #expect(reset.output.contains("(forwarding what still reached this host)"), "\(reset.output)")
                    }
                    watch.mark(step: "remove \(old)", host: old)
                    members.removeAll { $0 == old }
                    try Self.inventory(try String(contentsOfFile: labInventory, encoding: .utf8), keeping: members, state: state)
                        .write(toFile: working, atomically: true, encoding: .utf8)
                    let removePlan = try await clusterup(["deploy", working, "--dry-run"])
                    #expect(removePlan.status == 0 && removePlan.output.contains("etcd: would remove member \(old)"), "\(removePlan.output)")
                    let removed = try await clusterup(["deploy", working])
                    try #require(removed.status == 0, "\(removed.output)")
                    #expect(removed.output.contains("etcd: member \(old) removed"), "\(removed.output)")
                    #expect(removed.output.contains("etcd: all 3 member(s) healthy over TLS"), "\(removed.output)")
                    watch.endStep()
                    let verify = try await clusterup(["verify", working])
                    #expect(verify.status == 0, "after replacing \(old) by \(new): \(verify.output)")
                }
            } catch {
                _ = watch.finish()
                throw error
            }
            let report = watch.finish()
            print(report.lines.joined(separator: "\n"))
            // bench/replace/run reads the report of each run from here.
            if let path = ProcessInfo.processInfo.environment["CLUSTERUP_REPLACE_REPORT"] {
                struct Written: Encodable { var report: AvailabilityReport; var noopDeploySeconds: Double }
                try JSONEncoder().encode(Written(report: report, noopDeploySeconds: noopSeconds)).write(to: URL(fileURLWithPath: path))
            }

            // Every node is Debian 13 and the cluster names only them.
            #expect(members == ["node4", "node5", "node6"])
            let status = try await clusterup(["status", working])
            #expect(status.status == 0, "\(status.output)")
            let lines = status.output.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("etcd ") && $0.contains(" 3.5.") && $0.hasSuffix("node4,node5,node6") }, "\(status.output)")
            #expect(!status.output.contains("node1") && !status.output.contains("node2 ") && !status.output.contains("node3 "), "\(status.output)")
            // Probed throughout: nine steps, each with probes; no TCP connect through the VIP failed.
            #expect(report.steps.map(\.step) == (1...3).flatMap { ["add node\(3 + $0)", "retire node\($0)", "remove node\($0)"] })
            #expect(report.steps.allSatisfy { ($0.tcp?.probes ?? 0) > 0 }, "\(report.lines)")
            // No probe fails while deploy adds or removes a member: it drains each running
            // apiserver from every HAProxy before restarting it.
            for step in report.steps where !step.step.hasPrefix("retire") {
                #expect(step.tcp?.failed == 0 && step.readyz?.failed == 0, "\(step.step): \(report.lines.joined(separator: "\n"))")
            }
            // Retiring the VIP holder hands the VIP over (priority 0, forwarding on, its stale
            // neighbour entry for the VIP dropped first) and refuses new apiserver connections
            // before anything stops: no TCP connect fails there either (bench/replace/RESULTS.md).
            for step in report.steps where step.step.hasPrefix("retire") {
                #expect(step.tcp?.failed == 0, "\(step.step): \(report.lines.joined(separator: "\n"))")
            }
            // One of the three retired nodes held the VIP when it left (the sequence moved it).
            #expect(retiredHolder, "no retirement handed the VIP over: \(report.lines.joined(separator: "\n"))")
            // /readyz is reported, not held to zero: a TLS exchange under way through the old
            // holder at the instant of the move is lost (docs/upgrade.md, "What a VIP move costs").
            print("replace: /readyz failed \(report.readyz?.failed ?? -1) of \(report.readyz?.probes ?? 0); TCP failed \(report.tcp?.failed ?? -1) of \(report.tcp?.probes ?? 0)")
        }
    }
}
