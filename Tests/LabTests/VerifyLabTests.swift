import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// `clusterup verify` and `verify failover` as a user runs them, against a deployed 3-node lab:
/// the built binary, nothing mocked. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab, deploys and fails its VRRP master"))
struct VerifyLabTests {
    typealias Run = ClusterupBinary.Run

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 240)
    }

    func json(_ run: Run) throws -> [String: Any] {
        let start = try #require(run.output.firstIndex(of: "{"), "no JSON in: \(run.output)")
        let end = try #require(run.output.lastIndex(of: "}"))
        let object = try JSONSerialization.jsonObject(with: Data(run.output[start...end].utf8))
        return try #require(object as? [String: Any])
    }

    func nft(_ lab: String, _ node: String, _ rules: String) async throws {
        let result = try await Lab.execute(["nft", rules], on: node, lab: lab)
        #expect(result.status == 0, "nft on \(node): \(result.stderr)")
    }

    /// The lab's own inventory. It needs no periodic gratuitous ARP (`garp.refresh`) for the
    /// network cut: after the heal clusterup-vrrpd's master re-announces the VIP when it hears the
    /// other master (or its parting advert), so clients whose ARP entry names the former backup
    /// find the master again at once instead of after the entry expires (17 s seen before).
    func tunedInventory(_ lab: String) throws -> String {
        try Lab.inventoryPath(name: lab)
    }

    /// The picture parses as XML (python's minidom, a parser other than the test's) and holds one
    /// probe mark per probe the JSON report counted, and one failure mark per failed probe.
    func expectPlot(_ path: String, report: [String: Any]) async throws {
        let rounds = report["rounds"] as? [[String: Any]] ?? []
        let probes = rounds.reduce(0) { $0 + ($1["probes"] as? Int ?? 0) }
        let failed = rounds.reduce(0) { $0 + ($1["failed_probes"] as? Int ?? 0) }
        let count = """
            import sys, xml.dom.minidom
            doc = xml.dom.minidom.parse(sys.argv[1])
            marks = [u for g in doc.getElementsByTagName('g') if g.hasAttribute('data-probes') for u in g.getElementsByTagName('use')]
            print(len(marks), sum(1 for u in marks if u.hasAttribute('data-failure')))
            """
        let result = try await Blocking.run { try HostCommands().run("python3", ["-c", count, path]) }
        try #require(result.status == 0, "\(path) does not parse: \(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(probes) \(failed)", "\(path): marks, failure marks")
        #expect(probes > 100, "\(report)")
    }

    @Test func verifyPassesThenFailoverGivesFiguresInEveryFormAndSplitBrainIsReported() async throws {
        let lab = LabFixture.name("vtest")
        _ = try await Lab.up(name: lab, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        do {
            let inventory = try tunedInventory(lab)
            let deploy = try await clusterup(["deploy", inventory])
            try #require(deploy.status == 0, "\(deploy.output)")

            // Every non-disruptive check passes on a fresh deploy.
            let verify = try await clusterup(["verify", inventory, "--output", "json"])
            #expect(verify.status == 0, "\(verify.output)")
            let checks = try json(verify)["checks"] as? [[String: Any]] ?? []
            // The lab sets no etcd.snapshots, so there is no `etcd snapshot` check.
            #expect(Set(checks.compactMap { $0["check"] as? String })
                    == ["ssh", "services", "certificates", "etcd", "etcd alarms", "etcd lag", "haproxy", "vip", "served-certificates", "version-skew"])
            #expect(checks.allSatisfy { $0["ok"] as? Bool == true }, "\(checks)")

            // An unwritable --plot is bad input, refused before any fault: node1 keeps the VIP.
            let unwritable = try await clusterup(["verify", "failover", inventory, "--plot", "/nonexistent-dir/failover.svg"])
            #expect(unwritable.status == 2, "\(unwritable.output)")
            #expect(unwritable.output.contains("--plot: cannot write the plot to /nonexistent-dir/failover.svg"), "\(unwritable.output)")
            #expect(!unwritable.output.contains("round 1"), "\(unwritable.output)")

            // Graceful and network failovers each give figures and leave one holder where it belongs,
            // and draw every probe of the report in the --plot picture.
            let plots = FileManager.default.temporaryDirectory.appendingPathComponent("vtest-plots-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: plots) }
            for (mode, extra) in [("graceful", [String]()), ("network", ["--cut", "1s"])] {
                let plot = plots.appendingPathComponent("\(mode).svg").path
                let run = try await clusterup(["verify", "failover", inventory, "--mode", mode, "--output", "json", "--plot", plot] + extra)
                #expect(run.status == 0, "\(mode): \(run.output)")
                let report = try json(run)
                #expect(report["plot"] as? String == plot, "\(mode): \(run.output)")
                try await expectPlot(plot, report: report)
                let round = try #require((report["rounds"] as? [[String: Any]])?.first, "\(mode): \(run.output)")
                #expect(round["old_master"] as? String == "node1", "\(mode)")
                #expect(round["valid"] as? Bool == true, "\(mode): \(round)")
                #expect((round["new_master"] as? String).map { $0 != "node1" } == true, "\(mode): \(round)")
                #expect((round["detection_ms"] as? Double).map { $0 > 0 } == true, "\(mode): \(round)")
                #expect(round["downtime_ms"] is Double, "\(mode): \(round)")
                #expect((round["probes"] as? Int).map { $0 > 100 } == true, "\(mode): \(round)")
                #expect(round["holders_after"] as? [String] == ["node1"], "\(mode): \(round)")
                #expect(round["not_restored"] as? [String] == [], "\(mode): \(round)")
            }

            // The https probe: TLS verified against the cluster CA (the VIP is an apiserver SAN),
            // GET /readyz through HAProxy, HTTP 200 before the fault and again after the restore.
            let https = try await clusterup(["verify", "failover", inventory, "--mode", "graceful", "--probe", "https", "--output", "json"])
            #expect(https.status == 0, "https: \(https.output)")
            let httpsReport = try json(https)
            #expect((httpsReport["probe"] as? [String: Any])?["kind"] as? String == "https", "\(httpsReport)")
            #expect((httpsReport["probe"] as? [String: Any])?["path"] as? String == "/readyz", "\(httpsReport)")
            let httpsRound = try #require((httpsReport["rounds"] as? [[String: Any]])?.first, "\(https.output)")
            #expect((httpsRound["succeeded_before_fault"] as? Int).map { $0 > 0 } == true, "\(httpsRound)")
            #expect((httpsRound["succeeded_after_restore"] as? Int).map { $0 > 0 } == true, "\(httpsRound)")
            #expect((httpsRound["downtime_ms"] as? Double).map { $0 >= 0 } == true, "\(httpsRound)")
            #expect((httpsRound["probe_spacing_median_ms"] as? Double).map { $0 > 0 } == true, "\(httpsRound)")
            #expect(httpsRound["holders_after"] as? [String] == ["node1"], "\(httpsRound)")

            // A whole node stopped (its init killed) and booted again: another node takes over,
            // and node1 comes back with the same units active and the VIP.
            let stopped = try await clusterup(["verify", "failover", inventory, "--mode", "crash", "--stop-node", "--output", "json"])
            #expect(stopped.status == 0, "stop-node: \(stopped.output)")
            let stoppedRound = try #require((try json(stopped)["rounds"] as? [[String: Any]])?.first, "\(stopped.output)")
            #expect(stoppedRound["old_master"] as? String == "node1", "\(stoppedRound)")
            #expect((stoppedRound["new_master"] as? String).map { $0 != "node1" } == true, "\(stoppedRound)")
            #expect((stoppedRound["downtime_ms"] as? Double).map { $0 > 0 } == true, "\(stoppedRound)")
            #expect(stoppedRound["holders_after"] as? [String] == ["node1"], "\(stoppedRound)")
            #expect(stoppedRound["not_restored"] as? [String] == [], "\(stoppedRound)")
            let nodes = try Lab.status(name: lab).nodes
            #expect(nodes.allSatisfy { $0.running }, "\(nodes.map { ($0.name, $0.running) })")

            // --stop-node outside crash mode is bad input.
            let misuse = try await clusterup(["verify", "failover", inventory, "--mode", "graceful", "--stop-node"])
            #expect(misuse.status == 2, "\(misuse.output)")
            #expect(misuse.output.contains("--stop-node goes with --mode crash"), "\(misuse.output)")

            // VRRP blocked into node2: it stops hearing node1 and takes the VIP too.
            try await nft(lab, "node2", "add table inet vtest_block; add chain inet vtest_block in { type filter hook input priority 0; }; add rule inet vtest_block in ip protocol vrrp drop")
            var split = Run(status: 0, output: "")
            for _ in 0..<20 {
                split = try await clusterup(["verify", inventory, "--output", "json"])
                if split.status != 0, (try? json(split)["split_brain"] as? Bool) == true { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(split.status == 1, "\(split.output)")
            #expect(try json(split)["split_brain"] as? Bool == true, "\(split.output)")

            // Lifting the block: node2 hears the higher priority again and lets go.
            try await nft(lab, "node2", "delete table inet vtest_block")
            var healed = Run(status: 1, output: "")
            for _ in 0..<30 {
                healed = try await clusterup(["verify", inventory])
                if healed.status == 0 { break }
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(healed.status == 0, "\(healed.output)")
            #expect(healed.output.contains("held by node1"), "\(healed.output)")
        } catch {
            _ = try? await Lab.down(name: lab)
            throw error
        }
        let report = try await Lab.down(name: lab)
        #expect(report.remaining.isEmpty)
    }

    /// Lab nodes are overlays of this host: renaming nft inside one leaves the host's alone.
    func hideNft(_ lab: String, _ node: String, _ hidden: Bool) async throws {
        let (from, to) = hidden ? ("/usr/sbin/nft", "/usr/sbin/nft.hidden-by-test") : ("/usr/sbin/nft.hidden-by-test", "/usr/sbin/nft")
        let moved = try await Lab.execute(["mv", from, to], on: node, lab: lab)
        #expect(moved.status == 0, "mv \(from) on \(node): \(moved.stderr)")
    }

    @Test func aNodeWithoutNftRefusesTheNetworkCutBeforeAnyFaultAndKeepalivedCrashRoundsMeasure() async throws {
        let lab = LabFixture.name("vpre")
        let state = try await Lab.up(name: lab, nodes: 2, waitForAddressBlock: LabFixture.addressBlockWait)
        do {
            let vip = try state.plan.vipAddress
            let own = try Lab.inventoryPath(name: lab)
            let inventory = own.replacingOccurrences(of: "inventory.yml", with: "keepalived.yml")
            try String(contentsOfFile: own, encoding: .utf8).replacingOccurrences(of: "vrrp:\n", with: "vrrp:\n  backend: keepalived\n")
                .write(toFile: inventory, atomically: true, encoding: .utf8)
            let deploy = try await clusterup(["deploy", inventory])
            try #require(deploy.status == 0, "\(deploy.output)")

            // node1, the master, without nft: refused as the operator's to fix, naming node1 and
            // the package, and nothing was broken there.
            try await hideNft(lab, "node1", true)
            let refused = try await clusterup(["verify", "failover", inventory, "--mode", "network", "--cut", "1s", "--output", "json"])
            try await hideNft(lab, "node1", false)
            #expect(refused.status == 2, "\(refused.output)")
            #expect(refused.output.contains("node1: nft is not installed (package nftables)"), "\(refused.output)")
            #expect(refused.output.contains("apt-get install nftables"), "\(refused.output)")
            #expect(!refused.output.contains("median_downtime_ms"), "\(refused.output)")
            let untouched = try await Lab.execute(["sh", "-c", "ip -o addr show dev host0; systemctl is-active keepalived clusterup-verify-heal.timer; true"],
                                                  on: "node1", lab: lab)
            #expect(untouched.stdout.contains(" \(vip)/"), "node1 still holds the VIP: \(untouched.stdout)")
            #expect(untouched.stdout.hasSuffix("active\ninactive\n"), "keepalived active, no heal timer armed: \(untouched.stdout)")
            let verify = try await clusterup(["verify", inventory])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(verify.output.contains("held by node1"), "\(verify.output)")

            // Crash with keepalived: every round's fault is seen in effect (processes gone, VIP
            // off node1) without waiting on systemctl, another node takes over, node1 comes back.
            let crash = try await clusterup(["verify", "failover", inventory, "--mode", "crash", "--rounds", "2", "--output", "json"])
            #expect(crash.status == 0, "\(crash.output)")
            let report = try json(crash)
            #expect(report["valid_rounds"] as? Int == 2, "\(crash.output)")
            #expect(report["median_downtime_ms"] is Double, "\(crash.output)")
            for round in report["rounds"] as? [[String: Any]] ?? [] {
                #expect(round["valid"] as? Bool == true, "\(round)")
                #expect(round["new_master"] as? String == "node2", "\(round)")
                // No resignation in a crash: clients see the VIP go away until node2 takes it.
                #expect((round["failed_probes"] as? Int).map { $0 > 0 } == true, "\(round)")
                #expect(round["holders_after"] as? [String] == ["node1"], "\(round)")
                #expect(round["not_restored"] as? [String] == [], "\(round)")
            }

            // A stop that stays "deactivating" after the SIGKILL (here an ExecStopPost= of 12 s, as
            // keepalived 2.3.3 did for 20 s on Debian 13) does not hold the fault: it is in effect
            // within a 3 s limit, and the restore's start waits for the stop to end.
            let dropIn = "/etc/systemd/system/keepalived.service.d"
            let slow = try await Lab.execute(["sh", "-c", "mkdir -p \(dropIn) && printf '[Service]\\nExecStopPost=/bin/sleep 12\\n' > \(dropIn)/slow-stop.conf && systemctl daemon-reload && systemctl show -p ExecStopPost keepalived"],
                                             on: "node1", lab: lab)
            #expect(slow.status == 0 && slow.stdout.contains("/bin/sleep"), "\(slow.stdout) \(slow.stderr)")
            let hung = try await clusterup(["verify", "failover", inventory, "--mode", "crash", "--inject-timeout", "3s", "--output", "json"])
            _ = try await Lab.execute(["sh", "-c", "rm -r \(dropIn) && systemctl daemon-reload"], on: "node1", lab: lab)
            #expect(hung.status == 0, "\(hung.output)")
            let hungRound = try #require((try json(hung)["rounds"] as? [[String: Any]])?.first, "\(hung.output)")
            #expect(hungRound["valid"] as? Bool == true, "\(hungRound)")
            #expect(hungRound["new_master"] as? String == "node2", "\(hungRound)")
            #expect(hungRound["holders_after"] as? [String] == ["node1"], "\(hungRound)")
        } catch {
            _ = try? await Lab.down(name: lab)
            throw error
        }
        let report = try await Lab.down(name: lab)
        #expect(report.remaining.isEmpty)
    }
}
