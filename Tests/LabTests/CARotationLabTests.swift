import ClusterupCore
import ClusterupDeploy
import ClusterupSSH
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// `certs rotate-ca --ca all` through its three phases on a running 3-node lab: etcd data written
/// before is read after, a sampler sees at least 2 healthy etcd members at every sample, no probe
/// through the VIP fails, verify passes after each phase, and no certificate on any node is signed
/// by an old CA at the end. Root only.
@Suite(.serialized, .requiresRoot("boots a 3-node lab, deploys onto it and rotates every CA"))
struct CARotationLabTests {

    static func etcdctl(_ arguments: String) -> String {
        let pki = "/etc/kubernetes/pki/etcd"
        return "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=\(pki)/ca.crt --cert=\(pki)/healthcheck-client.crt --key=\(pki)/healthcheck-client.key \(arguments)"
    }

    /// Counts, every ~100 ms, the etcd members answering /health over TLS from this machine (with
    /// the local PKI's healthcheck client, which the rotation itself re-issues).
    final class HealthSampler: @unchecked Sendable {
        let samples = Locked<[Int]>([])
        let stopped = Locked(false)
        let done = DispatchSemaphore(value: 0)

        init(addresses: [String], pki: String) {
            Thread { [self] in
                while !stopped.withLock({ $0 }) {
                    var healthy = 0
                    for address in addresses {
                        let answer = try? HostCommands().run("curl", [
                            "-sk", "--max-time", "1", "--cert", pki + "/nodes/node1/etcd/healthcheck-client.crt",
                            "--key", pki + "/nodes/node1/etcd/healthcheck-client.key", "https://\(address):2379/health",
                        ])
                        if answer?.stdout.contains("\"health\":\"true\"") == true { healthy += 1 }
                    }
                    samples.withLock { $0.append(healthy) }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                done.signal()
            }.start()
        }

        func stop() -> [Int] {
            stopped.withLock { $0 = true }
            done.wait()
            return samples.withLock { $0 }
        }
    }

    /// The rotation's properties on a deployed 3-node lab: `certs rotate-ca --ca all`, phase by
    /// phase, with no failed probe, verify passing after each and each phase a no-op when run
    /// again; a sampler sees at least 2 healthy etcd members throughout; a key written before is
    /// read after; status says it is over; no certificate on any node verifies against an old CA.
    /// ReleaseLabTests runs it on Debian 13 nodes (OpenSSL 3.5).
    static func rotateEveryCA(_ path: String, nodes: [String], shell: CertificatesLabTests.NodeShell) async throws {
        let inventory = try InventoryLoader().load(path: path)
        let pki = inventory.pki.directory
        let canary = "written-before-rotation-\(UInt32.random(in: 0...UInt32.max))"
        #expect(try await shell("node1", etcdctl("put rotation-canary \(canary)")).contains("OK"))

        let sampler = HealthSampler(addresses: inventory.hosts(withRole: .etcd).map(\.privateAddress), pki: pki)
        do {
            for phase in ["trust", "reissue", "finish"] {
                let run = try await ClusterupBinary.run(["certs", "rotate-ca", path, "--ca", "all", "--phase", phase, "--output", "json"], limit: 600)
                #expect(run.status == 0, "\(phase): \(run.output)")
                #expect(run.output.contains("\"failed_probes\": 0"), "\(phase): \(run.output)")
                let verify = try await ClusterupBinary.run(["verify", path], limit: 120)
                #expect(verify.status == 0, "after \(phase): \(verify.output)")
                // Running a phase twice changes nothing.
                let again = try await ClusterupBinary.run(["certs", "rotate-ca", path, "--ca", "all", "--phase", phase], limit: 120)
                #expect(again.status == 0 && again.output.contains("nothing to do"), "\(phase) again: \(again.output)")
            }
        } catch {
            _ = sampler.stop()
            throw error
        }
        let samples = sampler.stop()
        #expect(samples.count > 20, "too few samples: \(samples.count)")
        #expect(samples.allSatisfy { $0 >= 2 }, "fewer than 2 healthy etcd members at some sample: \(samples)")

        #expect(try await shell("node2", etcdctl("get rotation-canary --print-value-only")).contains(canary))
        let status = try await ClusterupBinary.run(["certs", "rotate-ca", "status", path], limit: 60)
        #expect(status.output.contains("over: every host has finished"), "\(status.output)")

        // Every certificate on every node: one certificate per file, none signed by an old CA.
        let old = ["ca", "etcd/ca", "front-proxy-ca"].map { "\(pki)/rotate-ca/old/\($0).crt" }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cerotate-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for node in nodes {
            let listing = try await shell(node, "cd /etc/kubernetes/pki && find . -name '*.crt' | sort")
            let files = listing.split(separator: "\n").map(String.init)
            #expect(files.count >= 7, "\(node): \(listing)")
            for file in files {
                let pem = try await shell(node, "cat /etc/kubernetes/pki/\(file)")
                #expect(pem.components(separatedBy: "BEGIN CERTIFICATE").count == 2, "\(node) \(file) holds more than one certificate")
                let local = scratch + "/cert.pem"
                try pem.write(toFile: local, atomically: true, encoding: .utf8)
                for ca in old {
                    let verdict = try HostCommands().run("openssl", ["verify", "-CAfile", ca, local])
                    #expect(verdict.status != 0, "\(node) \(file) still verifies against \(ca)")
                }
            }
        }
    }

    @Test func rotatingEveryCAKeepsDataQuorumAndTheAPI() async throws {
        let name = LabFixture.name("cerotate")
        let state = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: LabFixture.addressBlockWait)
        let path = try Lab.inventoryPath(name: name)
        do {
            let deploy = try await ClusterupBinary.run(["deploy", path], limit: 240)
            #expect(deploy.status == 0, "\(deploy.output)")
            try await Self.rotateEveryCA(path, nodes: state.nodes.map(\.name)) { try await labSSH(state, $0, $1) }
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }

    // MARK: --rotate-sa, and the deploy lock

    /// A service-account token signed with `key` (RS256, issuer `issuer`, an hour to live), made
    /// here with openssl as the controller-manager or the TokenRequest API would.
    func token(signedWith key: String, issuer: String) async throws -> String {
        let script = """
            b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
            h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64)
            p=$(printf '{"iss":"%s","sub":"system:serviceaccount:default:probe","exp":%d}' "$1" $(( $(date +%s) + 3600 )) | b64)
            s=$(printf %s "$h.$p" | openssl dgst -sha256 -sign "$2" | b64)
            printf %s "$h.$p.$s"
            """
        let run = try await Blocking.run { try HostCommands().run("sh", ["-c", script, "token", issuer, key]) }
        try #require(run.status == 0, "\(run.stderr)")
        return run.stdout
    }

    /// The HTTP status each control-plane host's apiserver answers to a request with `token`.
    func statuses(_ token: String, _ addresses: [String]) async throws -> [String] {
        var codes: [String] = []
        for address in addresses {
            let run = try await Blocking.run {
                try HostCommands().run("curl", ["-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                                "-H", "Authorization: Bearer \(token)", "https://\(address):6443/version"])
            }
            codes.append(run.stdout)
        }
        return codes
    }

    /// Every file of a directory tree with its sha256: equal listings, nothing changed.
    func fingerprint(local directory: String) async throws -> String {
        try await Blocking.run {
            try HostCommands().run("sh", ["-c", "cd \"$1\" && find . -type f -print0 | sort -z | xargs -0 sha256sum", "fp", directory]).stdout
        }
    }

    func fingerprint(node: String, lab: String) async throws -> String {
        try await LabFixture.shell(node, "cd /etc/kubernetes && find . -type f -print0 | sort -z | xargs -0 sha256sum; systemctl show -p MainPID --value kube-apiserver.service kube-controller-manager.service etcd.service", lab: lab)
    }

    /// How many public keys a node's sa.pub holds, and the last one.
    func saPublicKeys(node: String, lab: String) async throws -> [String] {
        let text = try await LabFixture.shell(node, "cat /etc/kubernetes/pki/sa.pub", lab: lab)
        return text.components(separatedBy: "-----BEGIN PUBLIC KEY-----").dropFirst().map {
            $0.components(separatedBy: "-----END PUBLIC KEY-----")[0].filter { !$0.isWhitespace }
        }
    }

    /// While another holder has deploy's lock, `certs rotate-ca` and `certs renew --deploy` are
    /// refused as a second deploy is, changing nothing here or on the nodes; a deploy started while
    /// `rotate-ca` runs is refused naming it. Then `--rotate-sa` through its phases: after trust and
    /// reissue every control-plane host's sa.pub holds the old and the new public key and the
    /// stand-in apiserver (which checks a token's signature against those keys) accepts tokens of
    /// both; after finish only the new key, and a token of the old key is refused (401).
    @Test func rotatingTheServiceAccountKeyAcceptsOldAndNewTokensUntilFinishUnderTheDeployLock() async throws {
        let lab = LabFixture.name("cesa")
        try await DeployedLab.run(lab) { path in
            let inventory = try InventoryLoader().load(path: path)
            let pki = inventory.pki.directory
            let issuer = "https://kubernetes.default.svc.\(inventory.pki.clusterDomain)"
            let apiservers = inventory.hosts(withRole: .controlPlane).map(\.privateAddress)
            let nodes = inventory.hosts.map(\.name)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cesa-\(getpid())").path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try FileManager.default.copyItem(atPath: pki + "/sa.key", toPath: scratch + "/old.key")
            let stranger = try await Blocking.run { try HostCommands().run("openssl", ["genrsa", "-out", scratch + "/stranger.key", "2048"]) }
            try #require(stranger.status == 0)
            let oldToken = try await token(signedWith: scratch + "/old.key", issuer: issuer)
            let strangerToken = try await token(signedWith: scratch + "/stranger.key", issuer: issuer)
            #expect(try await statuses(oldToken, apiservers).allSatisfy { $0 == "200" }, "a token of the deployed key")
            // The negative control: tokens are checked, not waved through.
            #expect(try await statuses(strangerToken, apiservers).allSatisfy { $0 == "401" }, "a token of a key nobody trusts")

            // 1. A live holder of deploy's lock on node2: both commands refused, nothing changed.
            let holder = try LiveLockHolder()
            defer { holder.stop() }
            let lock = shellQuote(DeployLock.directory)
            _ = try await LabFixture.shell("node2", "mkdir -p \(lock) && printf %s \(shellQuote(holder.owner.record)) > \(lock)/owner", lab: lab)
            let localBefore = try await fingerprint(local: pki)
            var nodesBefore: [String: String] = [:]
            for node in nodes { nodesBefore[node] = try await fingerprint(node: node, lab: lab) }
            for (command, operation) in [(["certs", "rotate-ca", path, "--rotate-sa", "--phase", "trust"], "certs rotate-ca"),
                                         (["certs", "renew", path, "apiserver-etcd-client@node1", "--deploy"], "certs renew --deploy")] {
                let refused = try await ClusterupBinary.run(command, limit: 120)
                #expect(refused.status == 1, "\(operation): \(refused.output)")
                #expect(refused.output.contains("\(operation) failed in phase 'lock'"), "\(refused.output)")
                #expect(refused.output.contains("node2: another deploy holds the lock: ops@"), "\(refused.output)")
                #expect(refused.output.contains("Nothing was changed"), "\(refused.output)")
            }
            #expect(try await fingerprint(local: pki) == localBefore, "the local PKI changed")
            #expect(!FileManager.default.fileExists(atPath: pki + "/rotate-ca.json"))
            for node in nodes {
                #expect(try await fingerprint(node: node, lab: lab) == nodesBefore[node], "\(node): files or services changed")
                let left = try await LabFixture.shell(node, "sed -n 's/^token=//p' \(lock)/owner 2>/dev/null || true", lab: lab)
                // The refused commands released what they took and left the holder's lock alone.
                #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == (node == "node2" ? "planted" : ""), "\(node): \(left)")
            }
            holder.stop()
            _ = try await LabFixture.shell("node2", "rm -rf \(lock)", lab: lab)

            // 2. The phases.
            let trust = try await ClusterupBinary.run(["certs", "rotate-ca", path, "--rotate-sa", "--phase", "trust", "--output", "json"], limit: 600)
            try #require(trust.status == 0, "trust: \(trust.output)")
            #expect(trust.output.contains("\"failed_probes\": 0"), "trust: \(trust.output)")
            let newToken = try await token(signedWith: pki + "/rotate-ca/new/sa.key", issuer: issuer)
            for node in inventory.hosts(withRole: .controlPlane).map(\.name) {
                #expect(try await saPublicKeys(node: node, lab: lab).count == 2, "\(node) after trust")
            }
            #expect(try await statuses(oldToken, apiservers).allSatisfy { $0 == "200" }, "old token after trust")
            #expect(try await statuses(newToken, apiservers).allSatisfy { $0 == "200" }, "new token after trust")

            // reissue, with a deploy started while it holds the lock: refused, naming it.
            let reissue = try DeployRobustnessLabTests.Background(["certs", "rotate-ca", path, "--rotate-sa", "--phase", "reissue"],
                                                                  log: scratch + "/reissue.log")
            var seen = false
            for _ in 0..<300 where !seen {
                seen = try await LabFixture.shell("node1", "grep -qx 'operation=certs rotate-ca' \(lock)/owner 2>/dev/null && echo held || true", lab: lab).contains("held")
                if !seen { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(seen, "rotate-ca never held the lock: \(reissue.output)")
            let deploy = try await ClusterupBinary.run(["deploy", path], limit: 240)
            let reissued = await reissue.finish(seconds: 600)
            #expect(deploy.status == 1, "a deploy during rotate-ca: \(deploy.output)")
            #expect(deploy.output.contains("another deploy holds the lock") && deploy.output.contains("running certs rotate-ca"), "\(deploy.output)")
            try #require(reissued.status == 0, "reissue: \(reissued.output)")
            for node in inventory.hosts(withRole: .controlPlane).map(\.name) {
                #expect(try await saPublicKeys(node: node, lab: lab).count == 2, "\(node) after reissue")
            }
            #expect(try await statuses(oldToken, apiservers).allSatisfy { $0 == "200" }, "old token after reissue")
            #expect(try await statuses(newToken, apiservers).allSatisfy { $0 == "200" }, "new token after reissue")

            let finish = try await ClusterupBinary.run(["certs", "rotate-ca", path, "--rotate-sa", "--phase", "finish"], limit: 600)
            try #require(finish.status == 0, "finish: \(finish.output)")
            let newPublic = try await Blocking.run {
                try HostCommands().run("openssl", ["pkey", "-in", pki + "/sa.key", "-pubout"]).stdout
            }.components(separatedBy: "-----BEGIN PUBLIC KEY-----")[1].components(separatedBy: "-----END PUBLIC KEY-----")[0].filter { !$0.isWhitespace }
            for node in inventory.hosts(withRole: .controlPlane).map(\.name) {
                #expect(try await saPublicKeys(node: node, lab: lab) == [newPublic], "\(node) after finish: the new key alone")
            }
            #expect(try await statuses(oldToken, apiservers).allSatisfy { $0 == "401" }, "old token after finish")
            #expect(try await statuses(newToken, apiservers).allSatisfy { $0 == "200" }, "new token after finish")
            let verify = try await ClusterupBinary.run(["verify", path], limit: 120)
            #expect(verify.status == 0, "\(verify.output)")
        }
    }
}
