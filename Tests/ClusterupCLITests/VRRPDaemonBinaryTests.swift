import ClusterupCore
import Foundation
import Testing
@testable import ClusterupCLI

/// Which clusterup-vrrpd deploy uploads: never one found through the current directory, never
/// one that another user could have replaced.
@Suite struct VRRPDaemonBinaryTests {
    @Test func implicitPlacesAreRelativeToTheRealExecutableNotTheCurrentDirectory() {
        let list = VRRPDaemonBinary.candidates(explicit: nil, environment: nil, executable: "/usr/bin/clusterup")
        #expect(list == ["/usr/bin/clusterup-vrrpd", "/usr/lib/clusterup/clusterup-vrrpd"])
        // Run from PATH, argv[0] was "clusterup" and the old search began at ./../dist.
        #expect(!list.contains { !$0.hasPrefix("/") })
    }

    @Test func aSourceBuildFindsTheStaticDistBuild() {
        let list = VRRPDaemonBinary.candidates(explicit: nil, environment: nil,
                                               executable: "/src/clusterup/.build/x86_64-unknown-linux-gnu/debug/clusterup")
        #expect(list.contains("/src/clusterup/.build/dist/clusterup-vrrpd"))
    }

    @Test func explicitAndEnvironmentComeFirstAndWithoutAnExecutableNothingIsGuessed() {
        let list = VRRPDaemonBinary.candidates(explicit: "/opt/v/clusterup-vrrpd", environment: "/srv/other", executable: nil)
        #expect(list == ["/opt/v/clusterup-vrrpd", "/srv/other"])
        #expect(VRRPDaemonBinary.candidates(explicit: nil, environment: nil, executable: "clusterup").isEmpty)
    }

    @Test func theRunningExecutableIsAnAbsolutePath() throws {
        let exe = try #require(VRRPDaemonBinary.runningExecutable())
        #expect(exe.hasPrefix("/"))
    }

    @Test func replaceableFilesAreRefused() {
        let me = geteuid()
        let safeDir: (owner: uid_t, mode: mode_t) = (0, 0o40755)
        #expect(VRRPDaemonBinary.replaceability(file: (0, 0o100755), directory: safeDir, user: me) == nil)
        #expect(VRRPDaemonBinary.replaceability(file: (me, 0o100700), directory: (me, 0o40700), user: me) == nil)
        #expect(VRRPDaemonBinary.replaceability(file: (0, 0o100775), directory: safeDir, user: me)?.contains("writable by group or others") == true)
        #expect(VRRPDaemonBinary.replaceability(file: (0, 0o100757), directory: safeDir, user: me)?.contains("writable") == true)
        #expect(VRRPDaemonBinary.replaceability(file: (4242, 0o100755), directory: safeDir, user: 0)?.contains("uid 4242") == true)
        // /tmp: world-writable but sticky, so others cannot rename our file away; plain 0777 is refused.
        #expect(VRRPDaemonBinary.replaceability(file: (0, 0o100755), directory: (0, 0o41777), user: 0) == nil)
        #expect(VRRPDaemonBinary.replaceability(file: (0, 0o100755), directory: (0, 0o40777), user: 0)?.contains("directory is writable") == true)
    }

    @Test func aWorldWritableBinaryIsRefusedByLocate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-vrrpd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let path = dir + "/clusterup-vrrpd"
        // /bin/true is a program with no Swift runtime, so only the mode can refuse it.
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: path)
        chmod(path, 0o755)
        let found = try VRRPDaemonBinary.locate(explicit: path)
        #expect(found.path == path)
        #expect(found.sha256.count == 64)
        chmod(path, 0o777)
        let error = try #require(throws: ClusterupError.self) { try VRRPDaemonBinary.locate(explicit: path) }
        #expect(error.kind == .badInput)
        #expect(error.message.contains("writable by group or others"))
    }
}
