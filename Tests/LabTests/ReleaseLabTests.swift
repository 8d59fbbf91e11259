import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// Debian 13 nodes and mixed clusters, as a user runs them: `lab up --release trixie` boots nodes
/// from the cached image (built on first use), and the built binary deploys, verifies, fails over,
/// renews and rotates the certificates of, restores and resets them with Debian 13's own etcd 3.5,
/// HAProxy 3.0 and keepalived 2.3.
/// Root only; needs Debian's mirror once, to build the image (`.ci/run` builds it beforehand).
@Suite(.serialized, .requiresRoot("boots Debian 13 and mixed labs and deploys onto them"))
struct ReleaseLabTests {
    typealias Run = ClusterupBinary.Run

    func clusterup(_ arguments: [String]) async throws -> Run {
        try await ClusterupBinary.run(arguments, limit: 300)
    }

    func node(_ node: String, _ command: String, lab: String) async throws -> String {
        try await LabFixture.shell(node, command, lab: lab)
    }

    /// `verify` until it passes: after a network round HAProxy marks the old master's apiserver up
    /// again only after its `rise` checks, and `verify failover` refuses an unhealthy cluster.
    func waitHealthy(_ inventory: String) async throws {
        var verify = try await clusterup(["verify", inventory])
        for _ in 0..<30 where verify.status != 0 {
            try await Task.sleep(for: .milliseconds(500))
            verify = try await clusterup(["verify", inventory])
        }
        #expect(verify.status == 0, "\(verify.output)")
    }

    func json(_ run: Run) throws -> [String: Any] {
        let start = try #require(run.output.firstIndex(of: "{"), "no JSON in: \(run.output)")
        let end = try #require(run.output.lastIndex(of: "}"))
        return try #require(try JSONSerialization.jsonObject(with: Data(run.output[start...end].utf8)) as? [String: Any])
    }

    /// Every failure mode (graceful, crash, network, and service: HAProxy stopped, seen through the
    /// lab's `vrrp.track`) gives a valid round with node1 the old master, another node the new one,
    /// and node1 holding the VIP again afterwards.
    func failoverInEveryMode(_ inventory: String, backend: String) async throws {
        for (mode, extra) in [("graceful", [String]()), ("crash", []), ("network", ["--cut", "1s"]), ("service", [])] {
            try await waitHealthy(inventory)
            let run = try await clusterup(["verify", "failover", inventory, "--mode", mode, "--output", "json"] + extra)
            #expect(run.status == 0, "\(backend) \(mode): \(run.output)")
            let round = try #require((try json(run)["rounds"] as? [[String: Any]])?.first, "\(backend) \(mode): \(run.output)")
            #expect(round["valid"] as? Bool == true, "\(backend) \(mode): \(round)")
            #expect(round["old_master"] as? String == "node1", "\(backend) \(mode): \(round)")
            #expect((round["new_master"] as? String).map { $0 != "node1" } == true, "\(backend) \(mode): \(round)")
            #expect(round["holders_after"] as? [String] == ["node1"], "\(backend) \(mode): \(round)")
            #expect(round["not_restored"] as? [String] == [], "\(backend) \(mode): \(round)")
        }
    }

    @Test func debian13NodesBootFromTheCachedImageAndTheWholeSuiteRunsOnThem() async throws {
        let lab = LabFixture.name("u18rel13")
        try await LabFixture.with(lab, nodes: 3, release: .trixie) { inventory in
            // The nodes run Debian 13 from the image, with what every lab node gets.
            let status = try Lab.status(name: lab)
            #expect(status.nodes.allSatisfy { $0.release == "trixie" && $0.image?.hasSuffix("/trixie-node") == true }, "\(status.nodes)")
            let image = try #require(ImageCache().list().first { $0.name == "trixie-node" })
            // This lab's three nodes are among the image's users (other suites running at the
            // same time may use it too).
            let ours = image.usedBy.filter { $0.contains("/labs/\(lab)/nodes/") }
            #expect(image.complete && ours.count == 3, "\(image)")
            let facts = try await node("node2", """
                . /etc/os-release; echo "$VERSION_CODENAME"; hostname; ssh -V 2>&1 | cut -d, -f1
                systemctl show -p Tainted --value; stat -fc %T /sys/fs/cgroup; cut -d: -f2 /etc/shadow | sort -u | tr '\\n' ' '; echo
                ls -A /root | tr '\\n' ' '; echo; systemctl is-enabled etcd.service haproxy.service keepalived.service 2>&1 | sort -u
                """, lab: lab)
            let lines = facts.split(separator: "\n").map(String.init)
            #expect(lines.count >= 8, "\(facts)")
            #expect(lines.first == "trixie" && lines.dropFirst().first == "node2", "\(facts)")
            #expect(lines.dropFirst(2).first?.hasPrefix("OpenSSH_10") == true, "\(facts)")
            // cgroup2, not "tainted: cgroupsv1" (this host runs cgroup v1).
            #expect(lines.dropFirst(3).first?.contains("cgroupsv1") == false && lines.dropFirst(4).first == "cgroup2fs", "\(facts)")
            // No password hash, only the lab's own files in /root, and deploy decides what runs.
            #expect(lines.dropFirst(5).first?.split(separator: " ").allSatisfy { $0 == "*" || $0 == "!" || $0 == "!*" } == true, "\(facts)")
            #expect(lines.dropFirst(6).first == ".bashrc .profile .ssh ", "\(facts)")
            #expect(lines.dropFirst(7).first == "disabled", "\(facts)")

            // Deploy with Debian 13's own packages; status names their versions.
            let deploy = try await clusterup(["deploy", inventory])
            try #require(deploy.status == 0, "\(deploy.output)")
            #expect(deploy.output.contains("etcd: all 3 member(s) healthy over TLS"), "\(deploy.output)")
            #expect(deploy.output.contains("HAProxy: 3 apiserver backend(s) up on every lb host"), "\(deploy.output)")
            let versions = try await clusterup(["status", inventory])
            #expect(versions.output.split(separator: "\n").contains { $0.hasPrefix("etcd ") && $0.contains(" 3.5.") }, "\(versions.output)")
            #expect(versions.output.split(separator: "\n").contains { $0.hasPrefix("haproxy ") && $0.contains(" 3.0.") }, "\(versions.output)")
            // The rendered configuration passes HAProxy 3.0's own check with no warning, and etcd 3.5 logs no deprecated flag.
            let checks = try await node("node1", """
                haproxy -c -q -f /etc/haproxy/haproxy.cfg 2>&1; echo "haproxy=$?"
                journalctl -u etcd.service -b --no-pager | grep -ci deprecat
                """, lab: lab)
            #expect(checks.contains("haproxy=0") && !checks.contains("WARNING"), "\(checks)")
            #expect(checks.split(separator: "\n").last == "0", "etcd deprecation lines: \(checks)")
            #expect(try await clusterup(["deploy", inventory]).output.contains("deploy: no changes"))

            let verify = try await clusterup(["verify", inventory])
            #expect(verify.status == 0, "\(verify.output)")
            try await failoverInEveryMode(inventory, backend: "clusterup-vrrpd")

            // Certificates on Debian 13 nodes (OpenSSL 3.5, systemd 257, etcd 3.5, HAProxy 3.0):
            // a renewal and a rotation of every CA, held to what the Debian 12 suites hold them to.
            let shell: CertificatesLabTests.NodeShell = { try await LabFixture.shell($0, $1, lab: lab) }
            try await waitHealthy(inventory)
            let certsStarted = Date()
            try await CertificatesLabTests.renewAServingAndAClientLeaf(inventory, nodes: ["node1", "node2", "node3"], shell: shell)
            let renewed = Date()
            try await CARotationLabTests.rotateEveryCA(inventory, nodes: ["node1", "node2", "node3"], shell: shell)
            print(String(format: "Debian 13: certs renew checks %.0f s, rotate-ca checks %.0f s",
                         renewed.timeIntervalSince(certsStarted), Date().timeIntervalSince(renewed)))

            // keepalived 2.3.3: its configuration passes `keepalived -t`, and the crash round (which
            // kept keepalived.service "deactivating" when nodes shared a cgroup) is valid.
            let keepalived = inventory.replacingOccurrences(of: "inventory.yml", with: "keepalived.yml")
            try String(contentsOfFile: inventory, encoding: .utf8).replacingOccurrences(of: "vrrp:\n", with: "vrrp:\n  backend: keepalived\n")
                .write(toFile: keepalived, atomically: true, encoding: .utf8)
            let switched = try await clusterup(["deploy", keepalived])
            try #require(switched.status == 0, "\(switched.output)")
            let keepalivedCheck = try await node("node1", "keepalived --version 2>&1 | head -n 1; keepalived -t -f /etc/keepalived/keepalived.conf; echo \"check=$?\"", lab: lab)
            #expect(keepalivedCheck.contains("Keepalived v2.3") && keepalivedCheck.contains("check=0"), "\(keepalivedCheck)")
            try await failoverInEveryMode(keepalived, backend: "keepalived")

            // Certificates, etcd backup and restore, reset, and a deploy from scratch.
            let certificates = try await clusterup(["certs", "check-expiration", "--remote", keepalived])
            #expect(certificates.status == 0 && certificates.output.contains("all installed certificates ok"), "\(certificates.output)")
            let etcdctl = """
                etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
                --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key
                """
            _ = try await node("node1", "\(etcdctl) put before-backup 1", lab: lab)
            let backups = "/tmp/clusterup-\(lab)-backups"
            defer { try? FileManager.default.removeItem(atPath: backups) }
            let backup = try await clusterup(["etcd", "backup", keepalived, "--output-dir", backups])
            try #require(backup.status == 0, "\(backup.output)")
            let snapshot = try #require(try FileManager.default.contentsOfDirectory(atPath: backups).first { $0.hasSuffix(".db") })
            _ = try await node("node2", "\(etcdctl) put after-backup 2", lab: lab)
            let restore = try await clusterup(["etcd", "restore", keepalived, "\(backups)/\(snapshot)", "--yes"])
            #expect(restore.status == 0 && restore.output.contains("3 member(s) healthy"), "\(restore.output)")
            let keys = try await node("node3", "\(etcdctl) get --prefix '' --keys-only", lab: lab)
            #expect(keys.contains("before-backup") && !keys.contains("after-backup"), "\(keys)")
            try await waitHealthy(keepalived)

            let reset = try await clusterup(["reset", keepalived, "--yes"])
            #expect(reset.status == 0, "\(reset.output)")
            let left = try await node("node1", "systemctl is-active etcd.service haproxy.service keepalived.service kube-apiserver.service", lab: lab)
            #expect(!left.split(separator: "\n").contains("active"), "\(left)")
            let again = try await clusterup(["deploy", keepalived])
            #expect(again.status == 0 && again.output.contains("etcd: bootstrap a new cluster of 3 member(s)"), "\(again.output)")
        }
        // `lab down` never removes an image.
        #expect(ImageCache().isBuilt("trixie-node"))
    }

    @Test func aMixedClusterTakesDebian13MembersButRefusesADebian12MemberIntoADebian13Cluster() async throws {
        let lab = LabFixture.name("u18relmix")
        try await LabFixture.with(lab, nodes: 3, release: nil) { inventory in
            let first = try await clusterup(["deploy", inventory])
            try #require(first.status == 0, "\(first.output)")

            // A Debian 13 node joins the Debian 12 cluster: etcd 3.5 joins 3.4 members.
            let grown = try await Lab.grow(name: lab, nodes: 4, release: .trixie)
            #expect(grown.nodes.map { $0.release?.rawValue ?? "host" } == ["bookworm", "bookworm", "bookworm", "trixie"])
            let joined = try await clusterup(["deploy", inventory])
            #expect(joined.status == 0, "\(joined.output)")
            #expect(joined.output.contains("etcd: member node4 joined"), "\(joined.output)")
            #expect(joined.output.contains("HAProxy: 4 apiserver backend(s) up on every lb host"), "\(joined.output)")
            let status = try await clusterup(["status", inventory])
            let lines = status.output.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("etcd ") && $0.contains(" 3.4.") && $0.hasSuffix("node1,node2,node3") }, "\(status.output)")
            #expect(lines.contains { $0.hasPrefix("etcd ") && $0.contains(" 3.5.") && $0.hasSuffix("node4") }, "\(status.output)")
            try await waitHealthy(inventory)
            try await failoverInEveryMode(inventory, backend: "clusterup-vrrpd on a mixed cluster")

            // A renewal on the mixed cluster: etcd 3.4 and 3.5 members, HAProxy 2.6 and 3.0.
            let shell: CertificatesLabTests.NodeShell = { try await LabFixture.shell($0, $1, lab: lab) }
            try await waitHealthy(inventory)
            try await CertificatesLabTests.renewAServingAndAClientLeaf(inventory, nodes: ["node1", "node2", "node3", "node4"], shell: shell)

            // keepalived 2.2.7 (Debian 12) and 2.3.3 (Debian 13) in one VRRP instance.
            let keepalived = inventory.replacingOccurrences(of: "inventory.yml", with: "keepalived.yml")
            try String(contentsOfFile: inventory, encoding: .utf8).replacingOccurrences(of: "vrrp:\n", with: "vrrp:\n  backend: keepalived\n")
                .write(toFile: keepalived, atomically: true, encoding: .utf8)
            let switched = try await clusterup(["deploy", keepalived])
            try #require(switched.status == 0, "\(switched.output)")
            let versions = try await node("node1", "keepalived --version 2>&1 | head -n 1", lab: lab)
                + (try await node("node4", "keepalived --version 2>&1 | head -n 1", lab: lab))
            #expect(versions.contains("v2.2.") && versions.contains("v2.3."), "\(versions)")
            try await failoverInEveryMode(keepalived, backend: "keepalived on a mixed cluster")

            // Backup and restore across both etcd releases, and both releases' etcdctl.
            let backups = "/tmp/clusterup-\(lab)-backups"
            defer { try? FileManager.default.removeItem(atPath: backups) }
            let backup = try await clusterup(["etcd", "backup", keepalived, "--output-dir", backups])
            try #require(backup.status == 0, "\(backup.output)")
            let snapshot = try #require(try FileManager.default.contentsOfDirectory(atPath: backups).first { $0.hasSuffix(".db") })
            let restore = try await clusterup(["etcd", "restore", keepalived, "\(backups)/\(snapshot)", "--yes"])
            #expect(restore.status == 0 && restore.output.contains("4 member(s) healthy"), "\(restore.output)")
            try await waitHealthy(keepalived)

            // Certificates read back from both releases' nodes, and reset of both releases' nodes.
            let certificates = try await clusterup(["certs", "check-expiration", "--remote", keepalived])
            #expect(certificates.status == 0 && certificates.output.contains("all installed certificates ok"), "\(certificates.output)")
            let reset = try await clusterup(["reset", keepalived, "--yes"])
            #expect(reset.status == 0, "\(reset.output)")
            for member in ["node1", "node4"] {
                let left = try await node(member, "systemctl is-active etcd.service haproxy.service keepalived.service kube-apiserver.service; ls /etc/kubernetes 2>&1 | grep -c 'No such file'", lab: lab)
                #expect(!left.split(separator: "\n").contains("active") && left.split(separator: "\n").last == "1", "\(member): \(left)")
            }
        }

        // The reverse: a Debian 12 node cannot join a cluster of Debian 13 members. Deploy says so
        // in its plan, before any member is added or any file written.
        let reverse = LabFixture.name("u18relrev")
        try await LabFixture.with(reverse, nodes: 1, release: .trixie) { inventory in
            let first = try await clusterup(["deploy", inventory])
            try #require(first.status == 0, "\(first.output)")
            _ = try await Lab.grow(name: reverse, nodes: 2, release: .bookworm)
            let refused = try await clusterup(["deploy", inventory])
            #expect(refused.status == 2, "\(refused.output)")
            #expect(refused.output.contains("node2 runs etcd 3.4."), "\(refused.output)")
            #expect(refused.output.contains("older than the cluster's version 3.5 (node1 3.5."), "\(refused.output)")
            #expect(!refused.output.contains("==> write files"), "\(refused.output)")
            let untouched = try await node("node2", "ls /etc/kubernetes /etc/systemd/system/etcd.service 2>&1 | grep -vc 'No such file'", lab: reverse)
            #expect(untouched.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(untouched)")
            let members = try await node("node1", """
                etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \
                --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key member list
                """, lab: reverse)
            #expect(members.split(separator: "\n").count == 1, "\(members)")
        }
    }
}
