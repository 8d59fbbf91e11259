import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupRollout
import ClusterupSSH
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// `clusterup upgrade apply` against a deployed 3-node lab: v1.31.2 stand-ins replaced by copies
/// claiming v1.32.0 (the version is the artifact's, as with real binaries), the VIP probed
/// throughout. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab, deploys onto it and upgrades it"))
struct UpgradeApplyLabTests {
    let nodes = ["node1", "node2", "node3"]

    func clusterup(_ arguments: [String], limit: Int = 400) async throws -> ClusterupBinary.Run {
        try await ClusterupBinary.run(arguments, limit: limit)
    }

    /// The lab's inventory with control_plane.version `version` and the stand-ins claiming it,
    /// written beside it.
    func inventory(_ original: String, version: String) throws -> String {
        let directory = URL(fileURLWithPath: original).deletingLastPathComponent().appendingPathComponent("standins-\(version)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var text = try String(contentsOfFile: original, encoding: .utf8)
        for name in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
            let program = try #require(LabFiles.standin(name, version: version))
            #expect(program.contains("VERSION = \"\(version)\""))
            let path = "\(directory)/\(name)"
            try program.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("  \(name): {file: ") })
            text = text.replacingOccurrences(of: String(line), with: "  \(name): {file: \(path)}")
        }
        text = text.replacingOccurrences(of: "control_plane:\n  version: \(LabFiles.standinVersion)\n", with: "control_plane:\n  version: \(version)\n")
        #expect(text.contains("  version: \(version)\n"))
        let edited = original.replacingOccurrences(of: "inventory.yml", with: "upgrade-\(version).yml")
        try text.write(toFile: edited, atomically: true, encoding: .utf8)
        return edited
    }

    func json(_ output: String) throws -> [String: Any] { try labJSON(output) }

    /// Another build of clusterup-vrrpd, written beside `inventory`: the static daemon with bytes
    /// appended, so another digest for the same program.
    func anotherVRRPDBuild(beside inventory: String) throws -> String {
        let built = ClusterupBinary.repo.appendingPathComponent(".build/dist/clusterup-vrrpd").path
        let rebuilt = URL(fileURLWithPath: inventory).deletingLastPathComponent().appendingPathComponent("clusterup-vrrpd-rebuilt").path
        var bytes = try #require(FileManager.default.contents(atPath: built))
        bytes.append(contentsOf: Array("clusterup upgrade lab test: another build\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: rebuilt))
        chmod(rebuilt, 0o755)
        return rebuilt
    }

    func etcdctl(_ inventoryPath: String, _ arguments: String) async throws -> String {
        try await labEtcdctl(inventoryPath, arguments)
    }

    @Test func upgradeApplyRollsTheControlPlaneWithoutAFailedProbe() async throws {
        try await DeployedLab.run("upapply") { original in
            _ = try await etcdctl(original, "put /upgrade-test/before kept-through-the-upgrade")

            let upgraded = try inventory(original, version: "v1.32.0")
            let plan = try await clusterup(["upgrade", "plan", upgraded])
            #expect(plan.status == 0, "\(plan.output)")
            #expect(plan.output.contains("kube-apiserver upgrade v1.31.2 → v1.32.0"), "\(plan.output)")

            // Without --yes nothing runs.
            let refused = try await clusterup(["upgrade", "apply", upgraded])
            #expect(refused.status == 2, "\(refused.output)")
            #expect(refused.output.contains("--yes"), "\(refused.output)")

            let apply = try await clusterup(["upgrade", "apply", upgraded, "--yes", "--output", "json"])
            #expect(apply.status == 0, "\(apply.output)")
            let report = try json(apply.output)
            #expect(report["ok"] as? Bool == true, "\(apply.output)")
            // Three apiserver turns (drained), then controller-manager and scheduler per host.
            let outcomes = try #require(report["outcomes"] as? [[String: Any]])
            let order = outcomes.map { "\($0["host"] as? String ?? "?") \($0["guard"] as? String ?? "?") \($0["step"] as? String ?? "?")" }
            let expected = nodes.map { "\($0) drain-apiserver kube-apiserver upgrade v1.31.2 → v1.32.0" }
                + nodes.flatMap { ["\($0) none kube-controller-manager upgrade v1.31.2 → v1.32.0", "\($0) none kube-scheduler upgrade v1.31.2 → v1.32.0"] }
            #expect(order == expected, "\(apply.output)")
            // Availability through the VIP: probed throughout, nothing failed.
            let availability = try #require(report["availability"] as? [String: Any])
            let tcp = try #require(availability["tcp"] as? [String: Any]), readyz = try #require(availability["readyz"] as? [String: Any])
            #expect((tcp["probes"] as? Int ?? 0) > 0 && (readyz["probes"] as? Int ?? 0) > 0, "\(apply.output)")
            #expect(tcp["failed"] as? Int == 0, "\(apply.output)")
            #expect(readyz["failed"] as? Int == 0, "\(apply.output)")
            #expect((availability["steps"] as? [Any])?.count == expected.count, "\(apply.output)")

            // Every host runs v1.32.0: the plan has nothing left, status shows it, verify passes.
            let after = try await clusterup(["upgrade", "plan", upgraded])
            #expect(after.status == 0 && after.output.contains("nothing to upgrade"), "\(after.output)")
            let status = try await clusterup(["status", upgraded, "--output", "json"])
            let hosts = try #require(try json(status.output)["hosts"] as? [[String: Any]])
            for host in hosts {
                let versions = try #require(host["versions"] as? [String: String])
                for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
                    #expect(versions[component]?.contains("v1.32.0") == true, "\(host["name"] ?? "?"): \(versions)")
                }
            }
            let verify = try await clusterup(["verify", upgraded])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(verify.output.contains("version-skew"), "\(verify.output)")
            // One apiserver program made to claim v1.34.0 (two minors above the others; the running
            // process is untouched): verify fails naming the rule, and passes again once it is put back.
            let lab = DeployedLab.name("upapply"), program = "/usr/local/bin/kube-apiserver"
            _ = try await LabFixture.shell("node1", "sed -i 's/^VERSION = \"v1.32.0\"$/VERSION = \"v1.34.0\"/' \(program)", lab: lab)
            let skewed = try await clusterup(["verify", upgraded])
            #expect(skewed.status == 1, "\(skewed.output)")
            #expect(skewed.output.contains("kube-apiserver v1.32.0 on node2, node3; v1.34.0 on node1: breaks rule kube-apiserver-one-minor"), "\(skewed.output)")
            _ = try await LabFixture.shell("node1", "sed -i 's/^VERSION = \"v1.34.0\"$/VERSION = \"v1.32.0\"/' \(program)", lab: lab)
            let restored = try await clusterup(["verify", upgraded])
            #expect(restored.status == 0, "\(restored.output)")
            // The data written before the upgrade reads back after it.
            let read = try await etcdctl(original, "get /upgrade-test/before --print-value-only")
            #expect(read.trimmingCharacters(in: .whitespacesAndNewlines) == "kept-through-the-upgrade")
            // deploy with the upgraded inventory has nothing left to refuse.
            let converge = try await clusterup(["deploy", upgraded])
            #expect(converge.status == 0, "\(converge.output)")
        }
    }

    /// SIGKILL of clusterup while an apiserver is drained, then a re-run: it takes the drain
    /// back, finishes the hosts left and the cluster converges.
    @Test func anUpgradeKilledMidRunConvergesWhenRunAgain() async throws {
        try await DeployedLab.run("upkill") { original in
            let upgraded = try inventory(original, version: "v1.32.0")
            let inventory = try InventoryLoader().load(path: upgraded)
            let connector = try HostConnector.load(for: inventory, acceptNewHostKeys: false)
            let lbHosts = inventory.hosts(withRole: .lb)

            let process = try SpawnedProcess(try ClusterupBinary.located(), ["upgrade", "apply", upgraded, "--yes"])
            // Killed once node2's apiserver is drained: between a guard and its restore.
            let drainedWhenKilled = try await DedicatedThread.run(name: "upkill-watch") { () throws -> Bool in
                let connections = try lbHosts.map { try connector.connect($0) }
                defer { connections.forEach { $0.close() } }
                let drain = BackendDrain(balancers: Dictionary(uniqueKeysWithValues: connections.map { ($0.hostName, $0 as any RemoteShell) }))
                let deadline = ContinuousClock.now + .seconds(180)
                while ContinuousClock.now < deadline && process.isRunning {
                    if (try? drain.stats("node2"))?.values.contains(where: { $0.status == "DRAIN" }) == true {
                        kill(process.processIdentifier, SIGKILL)
                        return true
                    }
                    Thread.sleep(forTimeInterval: 0.02)
                }
                return false
            }
            process.waitUntilExit()
            #expect(drainedWhenKilled, "upgrade apply ended (status \(process.terminationStatus)) before node2 was drained")
            #expect(process.terminatingSignal == SIGKILL)

            let again = try await clusterup(["upgrade", "apply", upgraded, "--yes", "--output", "json"])
            #expect(again.status == 0, "\(again.output)")
            let report = try json(again.output)
            #expect(report["ok"] as? Bool == true, "\(again.output)")
            // node1 was done before the kill: the re-run's plan does not touch it again.
            let hosts = (report["outcomes"] as? [[String: Any]] ?? []).filter { $0["guard"] as? String == "drain-apiserver" }.map { $0["host"] as? String ?? "?" }
            #expect(!hosts.contains("node1") && hosts.contains("node3"), "\(again.output)")
            let availability = try #require(report["availability"] as? [String: Any])
            #expect((availability["tcp"] as? [String: Any])?["failed"] as? Int == 0, "\(again.output)")
            #expect((availability["readyz"] as? [String: Any])?["failed"] as? Int == 0, "\(again.output)")

            let after = try await clusterup(["upgrade", "plan", upgraded])
            #expect(after.status == 0 && after.output.contains("nothing to upgrade"), "\(after.output)")
            // No apiserver is left drained on any HAProxy.
            let status = try await clusterup(["status", upgraded, "--output", "json"])
            for host in try #require(try json(status.output)["hosts"] as? [[String: Any]]) where lbHosts.contains(where: { $0.name == host["name"] as? String }) {
                let backends = try #require(host["haproxy_backends"] as? [String: String])
                #expect(backends.count == 3 && backends.values.allSatisfy { $0 == "UP" }, "\(host["name"] ?? "?"): \(backends)")
            }
            let verify = try await clusterup(["verify", upgraded])
            #expect(verify.status == 0, "\(verify.output)")
        }
    }

    /// Every component the lab can change at once: the Kubernetes stand-ins to v1.32.0 and
    /// another build of clusterup-vrrpd (the same daemon with bytes appended: another digest, so
    /// the VRRP daemon is upgraded on every lb host, the VIP holder last, restarted in place).
    @Test func controlPlaneAndVRRPDaemonAtOnce() async throws {
        try await DeployedLab.run("upall") { original in
            let upgraded = try inventory(original, version: "v1.32.0")
            let rebuilt = try anotherVRRPDBuild(beside: upgraded)

            let before = try json(try await clusterup(["upgrade", "plan", upgraded, "--vrrpd-binary", rebuilt, "--output", "json"]).output)
            let holder = try #require(before["vip_holder"] as? String)
            let apply = try await clusterup(["upgrade", "apply", upgraded, "--vrrpd-binary", rebuilt, "--yes", "--output", "json"])
            #expect(apply.status == 0, "\(apply.output)")
            let report = try json(apply.output)
            #expect(report["ok"] as? Bool == true, "\(apply.output)")
            let outcomes = try #require(report["outcomes"] as? [[String: Any]])
            // The lb turns come last, the backups first, the holder last. The daemon running on the
            // holder restarts in place (SIGUSR2): its turn has no hand-over, and it stays Master.
            let lbTurns = Array(outcomes.suffix(3))
            #expect(lbTurns.map { $0["host"] as? String ?? "?" } == nodes.filter { $0 != holder } + [holder], "\(apply.output)")
            #expect(outcomes.count == 3 + 6 + 3 && lbTurns.map { $0["guard"] as? String } == ["hand-over-vip", "hand-over-vip", "none"], "\(apply.output)")
            let holderNotes = (lbTurns.last?["notes"] as? [String] ?? []).joined(separator: "; ")
            #expect(holderNotes.contains("restarted in place: still Master, the VIP did not move"), "\(holderNotes)")
            #expect(!holderNotes.contains("handed over"), "\(holderNotes)")
            // Zero failed probes in every turn. The holder's turn keeps a margin of 2 per kind: if
            // the new image took longer than Master_Down_Interval (0.3 s) to advertise under load,
            // a backup took over for a moment and the resumed Master took the VIP back (two moves).
            let availability = try #require(report["availability"] as? [String: Any])
            let steps = try #require(availability["steps"] as? [[String: Any]])
            #expect(steps.count == outcomes.count, "\(apply.output)")
            for (index, step) in steps.enumerated() {
                let holderTurn = index == steps.count - 1
                for kind in ["tcp", "readyz"] {
                    let failed = (step[kind] as? [String: Any])?["failed"] as? Int ?? -1
                    if holderTurn {
                        #expect((0...2).contains(failed), "\(kind) in the holder's turn: \(step)")
                        if failed > 0 { print("holder's turn: \(kind): \(step[kind] ?? "?")") }
                    } else {
                        #expect(failed == 0, "\(kind) in \(step["host"] ?? "?") \(step["step"] ?? "?"): \(step)")
                    }
                }
            }

            let after = try await clusterup(["upgrade", "plan", upgraded, "--vrrpd-binary", rebuilt])
            #expect(after.status == 0 && after.output.contains("nothing to upgrade"), "\(after.output)")
            let verify = try await clusterup(["verify", upgraded])
            #expect(verify.status == 0, "\(verify.output)")
        }
    }

    /// When the holder's daemon cannot restart in place (here its unit file was edited on the
    /// node, and only a restart applies a unit file), the turn falls back to the hand-over: the
    /// VIP moves to a backup, the daemon restarts with the new build, and takes the VIP back.
    @Test func aHolderThatCannotRestartInPlaceHandsTheVIPOverInstead() async throws {
        try await DeployedLab.run("upfall") { original in
            let rebuilt = try anotherVRRPDBuild(beside: original)
            let plan = try json(try await clusterup(["upgrade", "plan", original, "--vrrpd-binary", rebuilt, "--output", "json"]).output)
            let holder = try #require(plan["vip_holder"] as? String)
            let lab = DeployedLab.name("upfall")
            let edit = try await Lab.execute(["sh", "-c", "echo '# edited on the node' >> /etc/systemd/system/clusterup-vrrpd.service"], on: holder, lab: lab)
            try #require(edit.status == 0, "\(edit.stderr)")

            let apply = try await clusterup(["upgrade", "apply", original, "--vrrpd-binary", rebuilt, "--yes", "--output", "json"])
            #expect(apply.status == 0, "\(apply.output)")
            let outcomes = try #require(try json(apply.output)["outcomes"] as? [[String: Any]])
            let last = try #require(outcomes.last)
            #expect(last["host"] as? String == holder && last["guard"] as? String == "none", "\(apply.output)")
            let notes = (last["notes"] as? [String] ?? []).joined(separator: "; ")
            #expect(notes.contains("no restart in place (its unit file changes, which only a restart applies)"), "\(notes)")
            #expect(notes.contains("VIP handed over to"), "\(notes)")
            #expect(notes.contains("VRRP daemon restarted and took the VIP back"), "\(notes)")
            let after = try await clusterup(["upgrade", "plan", original, "--vrrpd-binary", rebuilt])
            #expect(after.status == 0 && after.output.contains("nothing to upgrade"), "\(after.output)")
            let unit = try await Lab.execute(["grep", "-c", "edited on the node", "/etc/systemd/system/clusterup-vrrpd.service"], on: holder, lab: lab)
            #expect(unit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the unit file was not rewritten")
        }
    }
}
