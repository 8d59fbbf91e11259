import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab

/// `certs rotate-ca --ca all` through its three phases on a running 3-node lab: etcd data written
/// before is read after, a sampler sees at least 2 healthy etcd members at every sample, no probe
/// through the VIP fails, verify passes after each phase, and no certificate on any node is signed
/// by an old CA at the end. Root only.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root: boots a 3-node lab, deploys onto it and rotates every CA"))
struct CARotationLabTests {

    func etcdctl(_ arguments: String) -> String {
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

    @Test func rotatingEveryCAKeepsDataQuorumAndTheAPI() async throws {
        let name = LabFixture.name("cerotate")
        let state = try await Lab.up(name: name, nodes: 3, waitForAddressBlock: 180)
        let path = try Lab.inventoryPath(name: name)
        var sampler: HealthSampler?
        do {
            let deploy = try await ClusterupBinary.run(["deploy", path], limit: 240)
            #expect(deploy.status == 0, "\(deploy.output)")
            let inventory = try InventoryLoader().load(path: path)
            let pki = inventory.pki.directory
            let canary = "written-before-rotation-\(UInt32.random(in: 0...UInt32.max))"
            #expect(try await labSSH(state, "node1", etcdctl("put rotation-canary \(canary)")).contains("OK"))

            sampler = HealthSampler(addresses: inventory.hosts(withRole: .etcd).map(\.privateAddress), pki: pki)
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
            let samples = sampler!.stop()
            sampler = nil
            #expect(samples.count > 20, "too few samples: \(samples.count)")
            #expect(samples.allSatisfy { $0 >= 2 }, "fewer than 2 healthy etcd members at some sample: \(samples)")

            #expect(try await labSSH(state, "node2", etcdctl("get rotation-canary --print-value-only")).contains(canary))
            let status = try await ClusterupBinary.run(["certs", "rotate-ca", "status", path], limit: 60)
            #expect(status.output.contains("over: every host has finished"), "\(status.output)")

            // Every certificate on every node: one certificate per file, none signed by an old CA.
            let old = ["ca", "etcd/ca", "front-proxy-ca"].map { "\(pki)/rotate-ca/old/\($0).crt" }
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cerotate-\(getpid())").path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            for node in state.nodes.map(\.name) {
                let listing = try await labSSH(state, node, "cd /etc/kubernetes/pki && find . -name '*.crt' | sort")
                let files = listing.split(separator: "\n").map(String.init)
                #expect(files.count >= 7, "\(node): \(listing)")
                for file in files {
                    let pem = try await labSSH(state, node, "cat /etc/kubernetes/pki/\(file)")
                    #expect(pem.components(separatedBy: "BEGIN CERTIFICATE").count == 2, "\(node) \(file) holds more than one certificate")
                    let local = scratch + "/cert.pem"
                    try pem.write(toFile: local, atomically: true, encoding: .utf8)
                    for ca in old {
                        let verdict = try HostCommands().run("openssl", ["verify", "-CAfile", ca, local])
                        #expect(verdict.status != 0, "\(node) \(file) still verifies against \(ca)")
                    }
                }
            }
        } catch {
            _ = sampler?.stop()
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
    }
}
