import ClusterupSSH
import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

@Suite struct ResetPlanTests {
    @Test func removesUnitsConfigurationCertificatesAndUploadedPrograms() throws {
        let inventory = try operationsInventory()
        let plan = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
        #expect(plan.units.contains("etcd.service"))
        #expect(plan.units.contains("clusterup-vrrpd.service"))
        #expect(plan.units.first == "clusterup-vrrpd.service", "the VIP is released before HAProxy stops")
        #expect(plan.paths.contains("/etc/kubernetes"))
        #expect(plan.paths.contains("/etc/clusterup"))
        #expect(plan.paths.contains("/etc/systemd/system/etcd.service"))
        #expect(plan.paths.contains { $0.hasSuffix("/kube-apiserver") })
        #expect(plan.paths.contains("/usr/local/bin/clusterup-vrrpd"))
    }

    @Test func anArtifactPathThatIsADirectoryIsKeptNotRemovedWhole() throws {
        // An artifact path of /usr/local/bin used to make reset run `rm -rf /usr/local/bin`.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cu-reset-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch + "/bin/sub", withIntermediateDirectories: true)
        try "x".write(toFile: scratch + "/bin/other-program", atomically: true, encoding: .utf8)
        try "x".write(toFile: scratch + "/kube-apiserver", atomically: true, encoding: .utf8)
        try "#!/bin/sh\nexit 0\n".write(toFile: scratch + "/systemctl", atomically: true, encoding: .utf8)
        chmod(scratch + "/systemctl", 0o755)
        let plan = ResetPlan(units: [], paths: [scratch + "/bin", scratch + "/kube-apiserver"], managedConfigs: [],
                             etcdDataDirectory: scratch + "/etcd", etcdData: .moveAside, keptDirectory: scratch + "/backups")
        let result = try ProcessRunner.shell(plan.script(timestamp: "t"), environment: ["PATH": scratch + ":/usr/bin:/bin"])
        let output = result.stdout
        #expect(result.status == 0)
        #expect(FileManager.default.fileExists(atPath: scratch + "/bin/other-program"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/kube-apiserver"))
        #expect(output.contains("kept \(scratch)/bin (not a file"), "\(output)")
        #expect(ResetOutcome.parse(output).removed == [scratch + "/kube-apiserver"])
    }

    @Test func keepsProgramsThatCameFromPackagesOrWereAlreadyPresent() throws {
        let inventory = try operationsInventory()
        let plan = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
        // etcd and haproxy come from the distribution by default: reset leaves them installed.
        #expect(!plan.paths.contains { $0.hasSuffix("/etcd") || $0.hasSuffix("/haproxy") })
    }

    @Test func neverTouchesBackupsOrTheLocalPKI() throws {
        let inventory = try operationsInventory()
        let plan = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .delete)
        let script = plan.script(timestamp: "20261122T060000Z")
        #expect(!plan.paths.contains { $0.hasPrefix("/var/lib/clusterup/etcd-backups") || $0 == "/var/lib/clusterup" })
        #expect(!script.contains("rm -rf '/var/lib/clusterup/etcd-backups'"))
        #expect(!script.contains(inventory.pki.directory))
    }

    @Test func etcdDataIsMovedAsideWithATimestampByDefault() throws {
        let inventory = try operationsInventory()
        let script = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
            .script(timestamp: "20261122T060000Z")
        #expect(script.contains("mv /var/lib/clusterup/etcd /var/lib/clusterup/etcd.reset-20261122T060000Z"))
        #expect(!script.contains("rm -rf /var/lib/clusterup/etcd "))
    }

    @Test func etcdDataIsDeletedOnlyWhenAskedAndSaysSo() throws {
        let inventory = try operationsInventory()
        let script = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .delete)
            .script(timestamp: "20261122T060000Z")
        #expect(script.contains("rm -rf /var/lib/clusterup/etcd &&"))
        #expect(script.contains("(etcd data deleted)"))
    }

    @Test func distributionConfigsAreRemovedOnlyWhenDeployWroteThem() throws {
        let inventory = try operationsInventory()
        let script = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
            .script(timestamp: "t")
        #expect(script.contains("grep -q 'Managed by clusterup' /etc/haproxy/haproxy.cfg"))
    }

    @Test func aHostLockedByADeployIsRefusedBeforeAnythingElse() throws {
        let inventory = try operationsInventory()
        let script = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside).script(timestamp: "t")
        let lockCheck = try #require(script.range(of: "deploy.lock"))
        let firstStop = try #require(script.range(of: "systemctl stop"))
        #expect(lockCheck.lowerBound < firstStop.lowerBound)
    }

    @Test func outcomeListsWhatWasStoppedRemovedMovedAndKept() {
        let outcome = ResetOutcome.parse("""
            stopped etcd.service
            disabled etcd.service
            removed /etc/kubernetes
            moved /var/lib/clusterup/etcd /var/lib/clusterup/etcd.reset-t
            kept /var/lib/clusterup/etcd-backups (2 file(s))
            done
            """)
        #expect(outcome.stopped == ["etcd.service"])
        #expect(outcome.disabled == ["etcd.service"])
        #expect(outcome.removed == ["/etc/kubernetes"])
        #expect(outcome.moved.map(\.1) == ["/var/lib/clusterup/etcd.reset-t"])
        #expect(outcome.kept == ["/var/lib/clusterup/etcd-backups (2 file(s))"])
        #expect(outcome.completed)
        #expect(outcome.lockedBy == nil)
    }

    @Test func outcomeOfALockedHostNamesTheHolder() {
        let outcome = ResetOutcome.parse("lock.state=held\nlock.age=12\nlock.modified=1\nlock.owner.ops@admin pid 42 since 2026-11-22T06:00:00Z\n")
        #expect(outcome.lockedBy == "ops@admin pid 42 since 2026-11-22T06:00:00Z, refreshed 12s ago")
        #expect(!outcome.completed)
    }

    @Test func anAlreadyBareHostHasNothingToDo() {
        #expect(ResetOutcome.parse("kept /var/lib/clusterup/etcd-backups (0 file(s))\ndone\n").isNothing)
    }
}

@Suite struct EtcdRestoreTests {
    @Test func eachMemberIsRestoredWithItsNameAndPeerURLIntoTheDataDirectory() throws {
        let inventory = try operationsInventory()
        let host = try #require(inventory.host(named: "node2"))
        let peers = inventory.hosts(withRole: .etcd).map { EtcdPeer(name: $0.name, address: $0.privateAddress) }
        let command = EtcdRestore.restoreCommand(
            etcdctl: "etcdctl", snapshot: "/var/lib/clusterup/etcd-backups/restore-t.db", host: host, peers: peers,
            cluster: "demo", dataDirectory: "/var/lib/clusterup/etcd")
        #expect(command.hasPrefix("ETCDCTL_API=3 etcdctl snapshot restore /var/lib/clusterup/etcd-backups/restore-t.db"))
        #expect(command.contains("--name=node2"))
        #expect(command.contains("--initial-cluster=node1=https://198.51.100.11:2380,node2=https://198.51.100.12:2380,node3=https://198.51.100.13:2380"))
        #expect(command.contains("--initial-advertise-peer-urls=https://198.51.100.12:2380"))
        #expect(command.contains("--initial-cluster-token=demo"))
        #expect(command.contains("--data-dir=/var/lib/clusterup/etcd"))
    }

    @Test func aSnapshotThatDoesNotMatchItsChecksumFileIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ops-restore-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("snapshot".utf8).write(to: URL(fileURLWithPath: dir + "/s.db"))
        try Data("\(String(repeating: "0", count: 64))  s.db\n".utf8).write(to: URL(fileURLWithPath: dir + "/s.db.sha256"))
        #expect(throws: ClusterupError.self) { try EtcdRestore.readSnapshot(dir + "/s.db") }
        try Data("\(sha256Hex(Array("snapshot".utf8)))  s.db\n".utf8).write(to: URL(fileURLWithPath: dir + "/s.db.sha256"))
        #expect(try EtcdRestore.readSnapshot(dir + "/s.db") == Array("snapshot".utf8))
    }

    @Test func aMissingSnapshotIsBadInputNamingIt() {
        do {
            _ = try EtcdRestore.readSnapshot("/nonexistent/s.db")
            Issue.record("expected an error")
        } catch let error as ClusterupError {
            #expect(error.kind == .badInput)
            #expect(error.message.contains("/nonexistent/s.db"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func backupDirectoryIsCreatedPrivateAndAnOpenOneIsRefused() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ops-backup-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let made = try EtcdBackup.prepareDirectory(base + "/new")
        let mode = try #require(FileManager.default.attributesOfItem(atPath: made)[.posixPermissions] as? Int)
        #expect(mode == 0o700)
        try FileManager.default.createDirectory(atPath: base + "/open", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        #expect(throws: ClusterupError.self) { try EtcdBackup.prepareDirectory(base + "/open") }
    }

    @Test func snapshotRevisionIsReadFromSnapshotStatus() {
        #expect(EtcdBackup.parseRevision(#"{"hash":3234735044,"revision":17,"totalKey":5,"totalSize":36864}"#) == 17)
        #expect(EtcdBackup.parseRevision("Error: no such file") == nil)
    }
}

@Suite struct ResetLockTests {
    @Test func aLockLeftByADeadDeployIsRemovedOnlyIfItIsStillTheOneSeen() throws {
        let inventory = try operationsInventory()
        let seen = DeployLock.Observation(age: 9, modified: "1764925200", rawOwner: "")
        let script = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
            .script(timestamp: "t", overridingLock: seen)
        let check = try #require(script.range(of: "\"$(stat -c %Y /var/lib/clusterup/deploy.lock)\" = 1764925200"))
        let removal = try #require(script.range(of: "rm -rf /var/lib/clusterup/deploy.lock"))
        let firstStop = try #require(script.range(of: "systemctl stop"))
        #expect(check.lowerBound < removal.lowerBound && removal.lowerBound < firstStop.lowerBound)
    }
}
