import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// The waits deploy runs on a node, run here by a real shell.
@Suite struct RemoteWaitScriptTests {
    /// Exit status and stderr of a script run with /bin/sh.
    func run(_ script: String) throws -> (status: Int32, stderr: String) {
        let result = try ProcessRunner.shell(script)
        return (result.status, result.stderr)
    }

    @Test func pollsUntilTheConditionHoldsThenStops() throws {
        let counter = "/tmp/cu-wait-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(counter) }
        // The check counts its runs and holds from the third on.
        let check = "n=$(cat \(counter) 2>/dev/null || echo 0); echo $((n + 1)) > \(counter); [ \"$n\" -ge 2 ]"
        let result = try run(RemoteWait.script(until: check, every: 0.01, seconds: 30, explain: "echo never"))
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "3\n")
    }

    @Test func givesUpAfterItsDeadlineAndExplainsOnStderr() throws {
        let result = try run(RemoteWait.script(until: "echo noise; false", every: 0.1, seconds: 1, explain: "echo 'etcd.service is failed'"))
        #expect(result.status == 1)
        #expect(result.stderr == "etcd.service is failed\n")
    }
}

@Suite struct EtcdBootstrapOrderTests {
    @Test func theMemberStartedAloneIsTheOneEtcdAsksFirstByPeerURLAsText() {
        let hosts = ["198.51.100.9", "198.51.100.10", "198.51.100.11"].enumerated().map { index, address in
            InventoryHost(name: "node\(index + 1)", address: address, roles: [.etcd])
        }
        // "https://198.51.100.10:2380" sorts before "https://198.51.100.9:2380".
        #expect(EtcdPhase.firstAsked(hosts).name == "node2")
    }
}
