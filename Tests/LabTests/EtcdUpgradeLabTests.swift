import ClusterupCore
import ClusterupSSH
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// A real etcd minor upgrade: a Debian 12 lab (etcd-server 3.4.23) rolled to Debian 13's etcd
/// 3.5.16, the binaries taken from the cached trixie node image (where etcd-server and etcd-client
/// are installed) and packed by the test into a release tarball the inventory references with a
/// file:// URL, its sha256 and `extract`. Root only; needs that image.
/// Debian 13's etcd where the lab tests find it: the cached trixie node image.
enum TrixieEtcd {
    static let image = ImageCache().path(of: ImageCache.nodeImageName(.trixie))
    static let programs = ["etcd", "etcdctl"]
    static let release = "3.5.16"

    /// Why the test cannot run here (the image or its etcd is missing), or nil.
    static var missing: String? {
        guard ImageCache().isBuilt(ImageCache.nodeImageName(.trixie)) else {
            return "needs the Debian 13 node image at \(image) (build it with `clusterup lab images build trixie`)"
        }
        for program in programs where !FileManager.default.isExecutableFile(atPath: "\(image)/usr/bin/\(program)") {
            return "the Debian 13 node image has no /usr/bin/\(program) (rebuild it: `clusterup lab images remove trixie-node && clusterup lab images build trixie`)"
        }
        return nil
    }
}

@Suite(.serialized,
       .requiresRoot("boots a 3-node lab, deploys onto it and upgrades its etcd"),
       .enabled(if: TrixieEtcd.missing == nil, Comment(rawValue: TrixieEtcd.missing ?? "")))
struct EtcdUpgradeLabTests {
    static let image = TrixieEtcd.image
    static let programs = TrixieEtcd.programs
    static let release = TrixieEtcd.release

    /// Debian 13's etcd and etcdctl as a release tarball laid out as etcd's own
    /// (`etcd-v3.5.16-linux-amd64/{etcd,etcdctl}`), written into `directory`: (path, sha256).
    func releaseTarball(in directory: String) async throws -> (path: String, sha256: String) {
        let top = "etcd-v\(Self.release)-linux-amd64"
        let staging = "\(directory)/tarball/\(top)"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for program in Self.programs {
            try FileManager.default.copyItem(atPath: "\(Self.image)/usr/bin/\(program)", toPath: "\(staging)/\(program)")
        }
        let path = "\(directory)/\(top).tar.gz"
        try await Blocking.run {
            _ = try HostCommands().check("tar", ["-C", "\(directory)/tarball", "-czf", path, top], what: "pack the etcd tarball")
        }
        try FileManager.default.removeItem(atPath: "\(directory)/tarball")
        let bytes = try #require(FileManager.default.contents(atPath: path))
        return (path, sha256Hex([UInt8](bytes)))
    }

    /// The lab's inventory with etcd and etcdctl taken from the tarball at version 3.5.16.
    func upgradedInventory(_ original: String) async throws -> String {
        let directory = URL(fileURLWithPath: original).deletingLastPathComponent().path
        let tarball = try await releaseTarball(in: directory)
        var text = try String(contentsOfFile: original, encoding: .utf8)
        #expect(text.hasSuffix("\n") && text.contains("\nartifacts:\n") && !text.contains("  etcd:"))
        for program in Self.programs {
            text += "  \(program): {url: 'file://\(tarball.path)', sha256: \(tarball.sha256), extract: etcd-v\(Self.release)-linux-amd64/\(program), version: \(Self.release)}\n"
        }
        let edited = original.replacingOccurrences(of: "inventory.yml", with: "etcd-\(Self.release).yml")
        try text.write(toFile: edited, atomically: true, encoding: .utf8)
        return edited
    }

    /// Every 100 ms, in node `node`, GET /health of every member at once (the health-check client
    /// certificate); a line per sample: `TIME ADDRESS=1|0 …`. Ends when the stop file appears (or
    /// after 10 minutes): no process of ours outlives the test.
    static func samplerScript(_ addresses: [String], log: String, stop: String) -> String {
        let pki = "/etc/kubernetes/pki/etcd"
        let probes = addresses.map { address in
            "( curl -s --max-time 1 --cacert \(pki)/ca.crt --cert \(pki)/healthcheck-client.crt --key \(pki)/healthcheck-client.key https://\(address):2379/health | grep -q '\"health\":\"true\"' && echo 1 > \(log).\(address) || echo 0 > \(log).\(address) ) &"
        }.joined(separator: " ")
        let line = addresses.map { "\($0)=$(cat \(log).\($0))" }.joined(separator: " ")
        return """
        rm -f \(stop) \(log); end=$(( $(date +%s) + 600 ))
        while [ ! -e \(stop) ] && [ $(date +%s) -lt $end ]; do
          t=$(date +%s.%N); \(probes) wait
          echo "$t \(line)" >> \(log); sleep 0.1
        done
        echo done >> \(log)
        """
    }

    @Test func debian12EtcdIsRolledToDebian13sWithTwoHealthyMembersAtEveryInstant() async throws {
        let lab = DeployedLab.name("etcdup")
        try await DeployedLab.run("etcdup") { original in
            for index in 0..<20 {
                _ = try await labEtcdctl(original, "put /etcd-upgrade/key\(index) value-\(index)")
            }
            let upgraded = try await upgradedInventory(original)
            let inventory = try InventoryLoader().load(path: upgraded)
            let etcdHosts = inventory.hosts(withRole: .etcd)

            // The plan: every member from 3.4.23 to 3.5.16, a snapshot first, the leader last.
            let planRun = try await ClusterupBinary.run(["upgrade", "plan", upgraded, "--output", "json"])
            #expect(planRun.status == 0, "\(planRun.output)")
            let plan = try labJSON(planRun.output)
            let leader = try #require(plan["etcd_leader"] as? String, "\(planRun.output)")
            let steps = try #require(plan["steps"] as? [[String: Any]])
            let etcdUpgrades = steps.filter { $0["component"] as? String == "etcd" && $0["action"] as? String == "upgrade" }
            #expect(etcdUpgrades.map { "\($0["from"] ?? "?") → \($0["to"] ?? "?")" } == Array(repeating: "3.4.23 → \(Self.release)", count: 3), "\(planRun.output)")
            #expect(etcdUpgrades.last?["host"] as? String == leader, "the leader is upgraded last: \(planRun.output)")
            #expect(steps.first?["action"] as? String == "snapshot", "\(planRun.output)")
            let text = try await ClusterupBinary.run(["upgrade", "plan", upgraded])
            #expect(text.output.contains("etcd upgrade 3.4.23 → \(Self.release)"), "\(text.output)")
            print(text.output)

            // A wrong digest: refused before anything is uploaded or run, exit 2, naming the field,
            // its line, the URL and both digests; the hosts still run 3.4.23.
            let good = try String(contentsOfFile: upgraded, encoding: .utf8)
            let digest = try #require(good.split(separator: " ").first { $0.count == 65 && $0.hasSuffix(",") }.map { String($0.dropLast()) })
            let wrongPath = upgraded.replacingOccurrences(of: ".yml", with: "-wrong.yml")
            try good.replacingOccurrences(of: digest, with: String(repeating: "0", count: 64)).write(toFile: wrongPath, atomically: true, encoding: .utf8)
            let wrong = try await ClusterupBinary.run(["upgrade", "apply", wrongPath, "--yes"])
            #expect(wrong.status == 2, "\(wrong.output)")
            #expect(wrong.output.contains("artifacts.etcd.sha256") || wrong.output.contains("artifacts.etcdctl.sha256"), "\(wrong.output)")
            #expect(wrong.output.contains("has sha256 \(digest), the inventory expects \(String(repeating: "0", count: 64))"), "\(wrong.output)")
            #expect(wrong.output.contains("\((wrongPath as NSString).lastPathComponent):"), "names the inventory file and line: \(wrong.output)")
            print(wrong.output)
            let unchanged = try await ClusterupBinary.run(["upgrade", "plan", upgraded])
            #expect(unchanged.output.contains("etcd upgrade 3.4.23 → \(Self.release)"), "\(unchanged.output)")

            // The sampler runs in node1 for the whole apply.
            let log = "/run/u17-etcd-sampler.log", stop = "/run/u17-etcd-sampler.stop"
            let sampler = Task {
                try await Lab.execute(["sh", "-c", Self.samplerScript(etcdHosts.map(\.privateAddress), log: log, stop: stop)], on: "node1", lab: lab)
            }
            do {
                // Let it take a few samples of the cluster before the upgrade.
                try await Task.sleep(for: .seconds(2))
                let apply = try await ClusterupBinary.run(["upgrade", "apply", upgraded, "--yes", "--output", "json"], limit: 600)
                try await Task.sleep(for: .seconds(1))
                _ = try await LabFixture.shell("node1", "touch \(stop)", lab: lab)
                _ = try await sampler.value
                #expect(apply.status == 0, "\(apply.output)")
                let report = try labJSON(apply.output)
                #expect(report["ok"] as? Bool == true, "\(apply.output)")
                #expect(report["snapshot"] is [String: Any], "a snapshot before any etcd change: \(apply.output)")
                let outcomes = try #require(report["outcomes"] as? [[String: Any]])
                let etcdTurns = outcomes.filter { $0["guard"] as? String == "etcd-member" }.map { $0["host"] as? String ?? "?" }
                #expect(etcdTurns.count == 3 && etcdTurns.last == leader, "followers first, the leader last: \(apply.output)")
                // Through the VIP: the apiservers keep answering while their etcd members restart.
                let availability = try #require(report["availability"] as? [String: Any], "\(apply.output)")
                for kind in ["tcp", "readyz"] {
                    let counts = try #require(availability[kind] as? [String: Any])
                    #expect((counts["probes"] as? Int ?? 0) > 0 && counts["failed"] as? Int == 0, "\(kind): \(counts)")
                }
                print("etcd upgrade: \(outcomes.map { "\($0["host"] ?? "?"): \(($0["notes"] as? [String] ?? []).joined(separator: "; "))" })")
                print("etcd upgrade availability: tcp \(availability["tcp"] ?? "?"), readyz \(availability["readyz"] ?? "?")")
            } catch {
                _ = try? await LabFixture.shell("node1", "touch \(stop)", lab: lab)
                _ = try? await sampler.value
                throw error
            }

            // Two healthy members at every instant the sampler saw, from before the apply to after it.
            let samples = try await LabFixture.shell("node1", "cat \(log)", lab: lab).split(separator: "\n").filter { $0 != "done" }
            #expect(samples.count >= 20, "too few samples to say anything: \(samples.count)")
            for sample in samples {
                let healthy = sample.split(separator: " ").dropFirst().filter { $0.hasSuffix("=1") }.count
                #expect(healthy >= 2, "fewer than two healthy members at \(sample)")
            }
            let seenDown = samples.filter { $0.split(separator: " ").dropFirst().contains { $0.hasSuffix("=0") } }.count
            print("etcd sampler: \(samples.count) samples, \(seenDown) with one member unhealthy, none with fewer than two healthy")

            // The keys written before read back; every member runs 3.5.16.
            for index in [0, 7, 19] {
                let value = try await labEtcdctl(upgraded, "get /etcd-upgrade/key\(index) --print-value-only")
                #expect(value.trimmingCharacters(in: .whitespacesAndNewlines) == "value-\(index)")
            }
            let status = try await ClusterupBinary.run(["status", upgraded, "--output", "json"])
            for host in try #require(try labJSON(status.output)["hosts"] as? [[String: Any]]) {
                let versions = try #require(host["versions"] as? [String: String])
                #expect(versions["etcd"]?.contains(Self.release) == true, "\(host["name"] ?? "?"): \(versions)")
            }
            let members = try await labEtcdctl(upgraded, "endpoint status --cluster -w json")
            #expect(members.components(separatedBy: "\"version\":\"\(Self.release)\"").count - 1 == 3, "\(members)")
            let after = try await ClusterupBinary.run(["upgrade", "plan", upgraded])
            #expect(after.status == 0 && after.output.contains("nothing to upgrade"), "\(after.output)")
            let verify = try await ClusterupBinary.run(["verify", upgraded])
            #expect(verify.status == 0, "\(verify.output)")
            // etcdctl is deploy's to replace (it runs no service): deploy converges and installs it.
            let converge = try await ClusterupBinary.run(["deploy", upgraded], limit: 400)
            #expect(converge.status == 0, "\(converge.output)")
            let etcdctl = try await LabFixture.shell("node2", "etcdctl version", lab: lab)
            #expect(etcdctl.contains("etcdctl version: \(Self.release)"), "\(etcdctl)")
        }
    }
}
