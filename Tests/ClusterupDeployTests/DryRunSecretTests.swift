import ClusterupCore
import ClusterupSSH
import Testing
@testable import ClusterupDeploy

@Suite struct DryRunSecretTests {
    func lines(old: String, new: String) throws -> [String] {
        var file = ManagedFile(path: "/etc/clusterup/vrrpd.yaml", text: new, mode: 0o600, component: "vrrp")
        file.secretLinePrefixes = ["auth_password:"]
        var changes = HostChanges(host: "node1")
        changes.files = [.init(file: file, reason: .content)]
        // The node's file as it is now: what the diff's "-" lines come from.
        return PlanReport.details(changes, mode: .dry, current: [file.path: old])
    }

    @Test func aPasswordRemovedFromTheInventoryIsNotShownFromTheNodesOldFile() throws {
        // The new file has no password, so the old rule (sensitive only when the new file has
        // one) showed the node's password in the diff's "-" line.
        let shown = try lines(old: "version: 2\n    auth_password: s3cr3t\n", new: "version: 3\n").joined(separator: "\n")
        #expect(!shown.contains("s3cr3t"), "\(shown)")
        #expect(shown.contains("-    auth_password: (secret: not shown)"), "\(shown)")
        #expect(shown.contains("+version: 3"), "\(shown)")
    }

    @Test func aChangedPasswordShowsAsChangedWithoutEitherValue() throws {
        let shown = try lines(old: "auth_password: one\nx: 1\n", new: "auth_password: two\nx: 2\n").joined(separator: "\n")
        #expect(!shown.contains("one") && !shown.contains("two"), "\(shown)")
        #expect(shown.contains("+x: 2"), "\(shown)")
    }
}
