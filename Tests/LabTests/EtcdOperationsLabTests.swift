import ClusterupCore
import ClusterupSSH
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// etcd on Day 2 against a deployed 3-node lab: recover after a lost quorum (from a survivor and
/// from a snapshot), refusal while a quorum holds, and a NOSPACE alarm cleared by compaction,
/// defragmentation and disarm. Each test owns one lab and tears it down even when it fails.
@Suite(.serialized, .requiresRoot("boots labs and deploys onto them"))
struct EtcdOperationsLabTests {
    typealias Run = ClusterupBinary.Run

    static let etcdctl = """
        ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
        --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key
        """

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 240)
    }

    func node(_ node: String, _ command: String, lab: String) async throws -> String {
        try await Lab.execute(["sh", "-c", command], on: node, lab: lab).stdout
    }

    /// Every node's member reads `key`, lists three started members, and all three are healthy.
    func expectThreeHealthyMembers(reading keys: [String], absent: [String] = [], lab: String) async throws {
        for name in ["node1", "node2", "node3"] {
            let read = try await node(name, "\(Self.etcdctl) get --prefix '' --keys-only", lab: lab)
            for key in keys { #expect(read.contains(key), "\(name) lost \(key): \(read)") }
            for key in absent { #expect(!read.contains(key), "\(name) still has \(key): \(read)") }
            let members = try await node(name, "\(Self.etcdctl) member list", lab: lab)
            #expect(members.split(separator: "\n").filter { $0.contains(", started, ") }.count == 3, "\(name): \(members)")
            let health = try await node(name, "\(Self.etcdctl) endpoint health --cluster 2>&1", lab: lab)
            #expect(health.components(separatedBy: "is healthy").count - 1 == 3, "\(name): \(health)")
        }
    }

    /// recover's probes through the VIP: both steps probed, the outage seen while etcd had no
    /// quorum (recover stops every member, so no apiserver can be ready while the seed starts),
    /// and the API answering again before the end with the last probes all successes.
    func expectRecoverAvailability(_ report: [String: Any]) {
        let availability = report["availability"] as? [String: Any] ?? [:]
        let steps = availability["steps"] as? [[String: Any]] ?? []
        #expect(steps.map { $0["step"] as? String } == ["recover", "re-add members"], "\(report)")
        for step in steps {
            for probe in ["tcp", "readyz"] {
                let counts = step[probe] as? [String: Any] ?? [:]
                #expect((counts["probes"] as? Int ?? 0) > 0, "\(probe) in \(step)")
                #expect(counts["longest_gap_ms"] as? NSNumber != nil, "\(probe) in \(step)")
            }
        }
        let recoverReadyz = steps.first?["readyz"] as? [String: Any] ?? [:]
        #expect((recoverReadyz["failed"] as? Int ?? 0) > 0, "no readyz probe failed while etcd had no quorum: \(steps)")
        let back = (report["api_back"] as? [String: Any])?["readyz"] as? [String: Any] ?? [:]
        #expect(back["first_answer_ms"] as? NSNumber != nil, "\(report)")
        #expect(back["steady_since_ms"] as? NSNumber != nil, "the API did not answer steadily at the end: \(report)")
        #expect((back["trailing_successes"] as? Int ?? 0) > 0, "\(back)")
    }

    @Test func recoverFromASurvivorAfterTwoMembersLostTheirData() async throws {
        let lab = LabFixture.name("etrec")
        try await DeployedLab.run(lab: lab) { inventory in
            _ = try await node("node1", "\(Self.etcdctl) put written-before-loss 1", lab: lab)
            // A quorum holds: refused, nothing stopped.
            let refused = try await clusterup(["etcd", "recover", inventory, "--from-member", "node1", "--yes"])
            #expect(refused.status == 2, "\(refused.output)")
            #expect(refused.output.contains("quorum"), "\(refused.output)")
            #expect(try await node("node2", "systemctl is-active etcd.service", lab: lab).contains("active"))

            for name in ["node2", "node3"] {
                _ = try await node(name, "systemctl stop etcd.service && rm -rf /var/lib/clusterup/etcd", lab: lab)
            }
            let recover = try await clusterup(["etcd", "recover", inventory, "--from-member", "node1", "--yes", "--output", "json"])
            #expect(recover.status == 0, "\(recover.output)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(recover.output.utf8)) as? [String: Any], "\(recover.output)")
            #expect(report["seed"] as? String == "node1")
            #expect(report["rejoin"] as? [String] == ["node2", "node3"])
            #expect((report["revision"] as? Int ?? 0) > 0, "\(report)")
            expectRecoverAvailability(report)
            try await expectThreeHealthyMembers(reading: ["written-before-loss"], lab: lab)
            // The force-new-cluster drop-in is gone: a restart rejoins the same cluster.
            let dropIn = try await node("node1", "ls /run/systemd/system/etcd.service.d/ 2>/dev/null || true", lab: lab)
            #expect(!dropIn.contains("force-new-cluster"), "\(dropIn)")
            // The survivor's data before the recover is kept.
            let kept = try await node("node1", "ls -d /var/lib/clusterup/etcd.before-recover-*", lab: lab)
            #expect(kept.contains("before-recover"), "\(kept)")
        }
    }

    @Test func recoverFromASnapshotKeepsWhatItHeldAndNothingLater() async throws {
        let lab = LabFixture.name("etsnap")
        try await DeployedLab.run(lab: lab) { inventory in
            _ = try await node("node1", "\(Self.etcdctl) put in-snapshot 1", lab: lab)
            let dir = "/tmp/clusterup-\(lab)-backups"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let backup = try await clusterup(["etcd", "backup", inventory, "--output-dir", dir])
            try #require(backup.status == 0, "\(backup.output)")
            let snapshot = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".db") })
            _ = try await node("node2", "\(Self.etcdctl) put after-snapshot 2", lab: lab)
            for name in ["node1", "node2", "node3"] {
                _ = try await node(name, "systemctl stop etcd.service", lab: lab)
            }
            _ = try await node("node2", "rm -rf /var/lib/clusterup/etcd", lab: lab)

            // A damaged copy is refused before anything changes.
            let damaged = "\(dir)/damaged.db"
            try FileManager.default.copyItem(atPath: "\(dir)/\(snapshot)", toPath: damaged)
            try FileManager.default.copyItem(atPath: "\(dir)/\(snapshot).sha256", toPath: damaged + ".sha256")
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
            try handle.seek(toOffset: 4096)
            handle.write(Data([0xff, 0xfe]))
            try handle.close()
            let refused = try await clusterup(["etcd", "recover", inventory, "--from-snapshot", damaged, "--yes"])
            #expect(refused.status == 2, "\(refused.output)")

            let recover = try await clusterup(["etcd", "recover", inventory, "--from-snapshot", "\(dir)/\(snapshot)", "--yes"])
            #expect(recover.status == 0, "\(recover.output)")
            #expect(recover.output.contains("at revision "), "\(recover.output)")
            #expect(recover.output.contains("the snapshot is "), "\(recover.output)")
            // The text report: per step and when the API came back.
            #expect(recover.output.contains("re-add members:"), "\(recover.output)")
            #expect(recover.output.contains("readyz: down at the start") || recover.output.contains("readyz: answering at the start"), "\(recover.output)")
            #expect(recover.output.contains("probes succeeded"), "\(recover.output)")
            try await expectThreeHealthyMembers(reading: ["in-snapshot"], absent: ["after-snapshot"], lab: lab)
        }
    }

    @Test func aNoSpaceAlarmIsClearedByCompactionDefragAndDisarm() async throws {
        let lab = LabFixture.name("etnospace")
        try await DeployedLab.run(lab: lab, inventoryExtra: "etcd:\n  extra_args: [--quota-backend-bytes=8388608]\n") { inventory in
            let fill = """
                \(Self.etcdctl) put before-fill kept >/dev/null
                v=$(head -c 100000 /dev/zero | tr '\\0' x)
                i=0
                while [ $i -lt 400 ]; do
                  i=$((i+1))
                  \(Self.etcdctl) put fill$((i%4)) "$v" >/dev/null 2>/tmp/fill.err || { cat /tmp/fill.err; exit 0; }
                done
                echo no alarm after 400 writes
                """
            let filled = try await node("node1", fill, lab: lab)
            try #require(filled.contains("database space exceeded"), "\(filled)")

            let alarms = try await clusterup(["etcd", "alarms", inventory])
            #expect(alarms.status == 1, "\(alarms.output)")
            #expect(alarms.output.contains("NOSPACE"), "\(alarms.output)")
            let early = try await clusterup(["etcd", "alarms", "disarm", inventory])
            #expect(early.status == 2, "disarm must refuse while the database fills the quota: \(early.output)")

            let dry = try await clusterup(["etcd", "defrag", inventory, "--all", "--dry-run", "--output", "json"])
            #expect(dry.status == 0, "\(dry.output)")
            let defrag = try await clusterup(["etcd", "defrag", inventory, "--all", "--compact", "--output", "json"])
            #expect(defrag.status == 0, "\(defrag.output)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(defrag.output.utf8)) as? [String: Any], "\(defrag.output)")
            let members = try #require(report["members"] as? [[String: Any]])
            #expect(members.count == 3)
            // Followers first, the leader last after leadership moved to a defragmented follower.
            #expect(members.dropLast().allSatisfy { ($0["leader"] as? Bool) == false }, "\(members)")
            #expect((members.last?["leader"] as? Bool) == true, "\(members)")
            let movedTo = try #require(members.last?["leader_moved_to"] as? String)
            #expect(members.dropLast().contains { ($0["name"] as? String) == movedTo })
            for member in members {
                let before = try #require(member["size_before"] as? Int), after = try #require(member["size_after"] as? Int)
                #expect(after < before, "\(member)")
            }

            // Under the alarm no apiserver is ready (etcd's /health fails), so the VIP serves
            // nothing: the defrag runs unprobed and says so.
            #expect(report["availability_not_measured"] is String, "\(report)")

            let disarm = try await clusterup(["etcd", "alarms", "disarm", inventory])
            #expect(disarm.status == 0, "\(disarm.output)")
            let write = try await node("node2", "\(Self.etcdctl) put after-disarm ok && \(Self.etcdctl) get before-fill --print-value-only", lab: lab)
            #expect(write.contains("OK") && write.contains("kept"), "\(write)")
            let clear = try await clusterup(["etcd", "alarms", inventory])
            #expect(clear.status == 0, "\(clear.output)")

            // Healthy again: a defrag of every member, probed through the VIP, fails no /readyz probe.
            var status = try await clusterup(["status", inventory])
            for _ in 0..<30 where status.status != 0 {
                try await Task.sleep(for: .seconds(1))
                status = try await clusterup(["status", inventory])
            }
            try #require(status.status == 0, "\(status.output)")
            let probed = try await clusterup(["etcd", "defrag", inventory, "--all", "--output", "json"])
            #expect(probed.status == 0, "\(probed.output)")
            let second = try #require(try JSONSerialization.jsonObject(with: Data(probed.output.utf8)) as? [String: Any], "\(probed.output)")
            let availability = try #require(second["availability"] as? [String: Any], "\(second)")
            #expect((availability["steps"] as? [[String: Any]])?.count == 3, "\(availability)")
            let readyz = try #require(availability["readyz"] as? [String: Any], "\(availability)")
            #expect((readyz["probes"] as? Int ?? 0) > 0, "\(readyz)")
            #expect(readyz["failed"] as? Int == 0, "\(availability)")
        }
    }

    @Test func scheduledSnapshotsFireKeepTheNewestAndHonourTheFloor() async throws {
        let lab = LabFixture.name("etsched")
        let schedule = "etcd:\n  snapshots: {every: 10s, keep: 2}\n"
        try await DeployedLab.run(lab: lab, inventoryExtra: schedule) { inventory in
            let list = "ls -1 /var/lib/clusterup/etcd-backups | grep '^scheduled-.*\\.db$' || true"
            let runs = "journalctl -u etcd-snapshot.service -o cat | grep -c '^etcd snapshot /' || true"
            // Three runs at least: one more than it keeps.
            var ran = 0
            for _ in 0..<90 where ran < 3 {
                try await Task.sleep(for: .seconds(1))
                ran = Int(try await node("node2", runs, lab: lab).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            try #require(ran >= 3, "the timer ran \(ran) time(s) in 90 s")
            for name in ["node1", "node2", "node3"] {
                let kept = try await node(name, list, lab: lab).split(separator: "\n")
                #expect(kept.count == 2, "\(name) keeps the newest 2: \(kept)")
                let checked = try await node(name, "cd /var/lib/clusterup/etcd-backups && sha256sum -c \(kept.map { "\($0).sha256" }.joined(separator: " "))", lab: lab)
                #expect(checked.components(separatedBy: ": OK").count - 1 == kept.count, "\(checked)")
            }

            let status = try await clusterup(["status", inventory, "--output", "json"])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any], "\(status.output)")
            let ages = try #require((document["etcd"] as? [String: Any])?["newest_snapshot_age_seconds"] as? [String: Any], "\(document)")
            #expect(ages.count == 3 && ages.values.allSatisfy { ($0 as? Double ?? 1e9) < 60 }, "\(ages)")
            let verify = try await clusterup(["verify", inventory, "--output", "json"])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(verify.output.contains("\"etcd snapshot\""), "\(verify.output)")

            let dir = "/tmp/clusterup-\(lab)-fetched"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let fetch = try await clusterup(["etcd", "backup", inventory, "--fetch", "--output-dir", dir])
            #expect(fetch.status == 0, "\(fetch.output)")
            let fetched = try FileManager.default.contentsOfDirectory(atPath: dir)
            let snapshot = try #require(fetched.first { $0.hasPrefix("scheduled-") && $0.hasSuffix(".db") }, "\(fetched)")
            let sum = try String(contentsOfFile: "\(dir)/\(snapshot).sha256", encoding: .utf8)
            let computed = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(snapshot)"))
            #expect(sum.hasPrefix(ClusterupSSH.sha256Hex([UInt8](computed))), "\(sum)")

            // A floor no disk meets: every run skips, says why in the journal, and deletes nothing.
            let floored = (inventory as NSString).deletingLastPathComponent + "/inventory-floor.yml"
            let text = try String(contentsOfFile: inventory, encoding: .utf8)
                .replacingOccurrences(of: "{every: 10s, keep: 2}", with: "{every: 10s, keep: 2, min_free: 1000TiB}")
            try text.write(toFile: floored, atomically: true, encoding: .utf8)
            let redeploy = try await clusterup(["deploy", floored])
            try #require(redeploy.status == 0, "\(redeploy.output)")
            let before = try await node("node1", list, lab: lab)
            let run = try await node("node1", "systemctl start etcd-snapshot.service; echo exit=$?; journalctl -u etcd-snapshot.service -o cat | tail -5", lab: lab)
            #expect(!run.contains("exit=0"), "\(run)")
            #expect(run.contains("etcd snapshot skipped") && run.contains("min_free"), "\(run)")
            #expect(try await node("node1", list, lab: lab) == before)
        }
    }
}
