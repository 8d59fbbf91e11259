import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// etcd.snapshots: the inventory setting, and the script the timer runs, run here against a
/// stand-in etcdctl in a temporary directory (no root, no etcd).
@Suite struct EtcdSnapshotScheduleTests {
    func load(_ etcd: String) throws -> Inventory {
        try InventoryLoader(environment: [:], homeDirectory: "/nonexistent", currentDirectory: "/tmp").parse(yaml: """
            cluster: demo
            hosts:
              - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane, lb]}
            vip: {address: 198.51.100.62}
            vrrp: {interface: eth0}
            etcd:
            \(etcd)
            """, path: "/tmp/demo.yml")
    }

    @Test func snapshotsAreOffWhenAbsentAndReadWithDefaults() throws {
        #expect(try load("  data_dir: /var/lib/etcd").deploy.etcd.snapshots == nil)
        let schedule = try #require(try load("  snapshots: {every: 6h}").deploy.etcd.snapshots)
        #expect(schedule == EtcdSnapshotSchedule(every: .hours(6), keep: 8, minFree: 1 << 30))
        let given = try #require(try load("  snapshots: {every: 30m, keep: 3, min_free: 512MiB}").deploy.etcd.snapshots)
        #expect(given == EtcdSnapshotSchedule(every: .seconds(1800), keep: 3, minFree: 512 << 20))
        #expect(try load("  snapshots: {every: 1h, min_free: 2GB}").deploy.etcd.snapshots?.minFree == 2_000_000_000)
    }

    @Test func badSettingsNameTheFileAndLine() throws {
        for (yaml, words) in [
            ("  snapshots: {keep: 3}", "says no interval"),
            ("  snapshots: {every: 1s}", "too short"),
            ("  snapshots: {every: 6h, keep: 0}", "out of range"),
            ("  snapshots: {every: 6h, min_free: lots}", "expected a size"),
            ("  snapshots: {every: 6h, retain: 3}", "retain"),
        ] {
            do {
                _ = try load(yaml)
                Issue.record("accepted \(yaml)")
            } catch let error as ClusterupError {
                #expect(error.kind == .badInput)
                #expect(error.description.contains("/tmp/demo.yml:7:"), "\(error.description)")
                #expect(error.description.contains(words), "\(error.description)")
            }
        }
    }

    /// A directory with a stand-in etcdctl: `endpoint status` reports `dbSize`, `snapshot save`
    /// writes a file, `snapshot status` accepts it unless the file says "corrupt".
    struct Sandbox {
        let root: String
        var backups: String { root + "/backups" }
        var etcdctl: String { root + "/etcdctl" }

        init(dbSize: Int64 = 1000, snapshotContent: String = "snapshot") throws {
            root = NSTemporaryDirectory() + "etcd-snapshot-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try """
            #!/bin/sh
            save=""; check=""; prev=""
            for a in "$@"; do
              [ "$prev" = save ] && save="$a"
              [ "$prev" = "-w" ] || true
              case "$a" in *.partial) [ "$prev" = json ] && check="$a";; esac
              prev="$a"
            done
            case " $* " in
              *" endpoint status "*) echo '[{"Endpoint":"x","Status":{"header":{"member_id":1},"dbSize":\(dbSize),"leader":1}}]' ;;
              *" snapshot save "*) printf '%s' '\(snapshotContent)' > "$save" ;;
              *" snapshot status "*) ! grep -q corrupt "$check" ;;
            esac
            """.write(toFile: etcdctl, atomically: true, encoding: .utf8)
            chmod(etcdctl, 0o755)
        }

        func script(keep: Int = 2, minFree: Int64 = 0) throws -> String {
            try EtcdComponent.snapshotScript(EtcdSnapshotSchedule(every: .hours(1), keep: keep, minFree: minFree), cluster: "demo",
                                             directory: backups, etcdctl: etcdctl, templates: TemplateSet())
        }

        /// Runs the script; (exit status, stderr).
        func run(_ script: String) throws -> (Int32, String) {
            let result = try ProcessRunner.shell(script)
            return (result.status, result.stderr)
        }

        var files: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: backups)) ?? []).sorted() }
    }

    @Test func eachRunKeepsTheNewestSnapshotsWithTheirChecksums() throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let script = try sandbox.script(keep: 2)
        // Snapshots older than the script's own: named as it names them, seconds apart.
        try FileManager.default.createDirectory(atPath: sandbox.backups, withIntermediateDirectories: true)
        for stamp in ["20200101T000000Z", "20200102T000000Z", "20200103T000000Z"] {
            FileManager.default.createFile(atPath: "\(sandbox.backups)/scheduled-\(stamp).db", contents: Data("old".utf8))
            FileManager.default.createFile(atPath: "\(sandbox.backups)/scheduled-\(stamp).db.sha256", contents: Data("x".utf8))
        }
        FileManager.default.createFile(atPath: "\(sandbox.backups)/etcd-demo-20190101T000000Z.db", contents: Data("manual".utf8))
        let (status, stderr) = try sandbox.run(script)
        #expect(status == 0, "\(stderr)")
        let snapshots = sandbox.files.filter { $0.hasPrefix("scheduled-") && $0.hasSuffix(".db") }
        #expect(snapshots.count == 2, "\(sandbox.files)")
        #expect(snapshots.first == "scheduled-20200103T000000Z.db", "the newest older one stays: \(snapshots)")
        let newest = try #require(snapshots.last)
        #expect(!newest.hasPrefix("scheduled-2020"))
        #expect(sandbox.files.contains(newest + ".sha256"))
        #expect(!sandbox.files.contains("scheduled-20200101T000000Z.db.sha256"), "a deleted snapshot's checksum goes too")
        #expect(sandbox.files.contains("etcd-demo-20190101T000000Z.db"), "backups the schedule did not take are not its to delete")
        // The checksum file is `sha256sum`'s line for the file, as `etcd backup` writes it.
        let line = try String(contentsOfFile: "\(sandbox.backups)/\(newest).sha256", encoding: .utf8)
        #expect(line.hasSuffix("  \(newest)\n"), "\(line)")
        let mode = try FileManager.default.attributesOfItem(atPath: "\(sandbox.backups)/\(newest)")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func belowTheFreeSpaceFloorNothingIsWrittenAndTheReasonIsLogged() throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let (status, stderr) = try sandbox.run(try sandbox.script(minFree: Int64.max / 2))
        #expect(status == 1)
        #expect(stderr.contains("etcd snapshot skipped") && stderr.contains("etcd.snapshots.min_free"), "\(stderr)")
        #expect(sandbox.files.isEmpty, "\(sandbox.files)")
    }

    @Test func aSnapshotThatFailsItsCheckIsDiscarded() throws {
        let sandbox = try Sandbox(snapshotContent: "corrupt")
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let (status, stderr) = try sandbox.run(try sandbox.script())
        #expect(status == 1)
        #expect(stderr.contains("failed its check"), "\(stderr)")
        #expect(sandbox.files.isEmpty, "\(sandbox.files)")
    }
}
