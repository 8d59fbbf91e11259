import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// The package install script under sh, with apt-get a stub that records what policy-rc.d said
/// while it ran.
@Suite struct PackageInstallScriptTests {
    func run(existing: String?, leftAside: String? = nil) throws -> (during: String, after: String?, status: Int32) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-policy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let policy = dir + "/policy-rc.d"
        if let existing { try existing.write(toFile: policy, atomically: true, encoding: .utf8) }
        if let leftAside { try leftAside.write(toFile: dir + "/.policy-rc.d.clusterup-saved", atomically: true, encoding: .utf8) }
        try "#!/bin/sh\ncat \(policy) > \(dir)/during\n".write(toFile: dir + "/bin/apt-get", atomically: true, encoding: .utf8)
        chmod(dir + "/bin/apt-get", 0o755)
        let result = try ProcessRunner.shell(ArtifactsPhase.installScript("etcd-server", policy: policy), environment: ["PATH": dir + "/bin:/usr/bin:/bin"])
        let during = (try? String(contentsOfFile: dir + "/during", encoding: .utf8)) ?? ""
        return (during, try? String(contentsOfFile: policy, encoding: .utf8), result.status)
    }

    @Test func servicesAreKeptFromStartingDuringTheInstall() throws {
        let result = try run(existing: nil)
        #expect(result.status == 0)
        #expect(result.during == "#!/bin/sh\nexit 101\n")
        #expect(result.after == nil, "our policy-rc.d is removed afterwards")
    }

    @Test func theNodesOwnPolicyIsPutBack() throws {
        let result = try run(existing: "#!/bin/sh\nexit 0 # the operator's\n")
        #expect(result.during == "#!/bin/sh\nexit 101\n")
        #expect(result.after == "#!/bin/sh\nexit 0 # the operator's\n")
    }

    @Test func aPolicyLeftAsideByARunThatDiedIsRestoredNotLost() throws {
        // The earlier run died with our policy in place and the operator's aside.
        let result = try run(existing: "#!/bin/sh\nexit 101\n", leftAside: "operator's\n")
        #expect(result.after == "operator's\n")
    }
}
