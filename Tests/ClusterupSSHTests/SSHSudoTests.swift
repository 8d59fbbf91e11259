import ClusterupCore
import Foundation
import Testing
@testable import ClusterupSSH

private let sudoInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/sudo")

/// Non-root logins, created only inside the test sshd's mount namespace (see `TestUser`).
@Suite(.startsSSHD, .enabled(if: sudoInstalled, "needs sudo (apt-get install sudo): logs in as a non-root user"))
struct SSHSudoTests {
    static let operatorUser = TestUser(name: "cu-ssh-op", uid: 47110, sudo: "NOPASSWD: ALL")
    static let plainUser = TestUser(name: "cu-ssh-plain", uid: 47112, sudo: nil)

    func passwordUser() throws -> TestUser {
        let hash = try runTool("/usr/bin/openssl", ["passwd", "-6", "-salt", "clusterup", "sudo secret"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return TestUser(name: "cu-ssh-pw", uid: 47111, sudo: "ALL", passwordHash: hash)
    }

    /// Connects as `user` to an sshd where that user exists.
    func withUser<T>(_ user: TestUser, sudo: SSHTarget.Sudo, _ body: (Lab, SSHConnection) throws -> T) throws -> T {
        try Lab.with { lab in
            try lab.withSSHD(users: [user]) { sshd in
                try lab.trust(sshd)
                var target = lab.target(sshd)
                target.user = user.name
                target.sudo = sudo
                let connection = try SSHConnection.connect(target)
                defer { connection.close() }
                return try body(lab, connection)
            }
        }
    }

    @Test func passwordlessSudoRunsAsRootOnlyWhenAsked() throws {
        try withUser(Self.operatorUser, sudo: .passwordless) { _, connection throws in
            #expect(try connection.run("id -un").stdoutText == "cu-ssh-op\n")
            #expect(try connection.run("id -un", sudo: true).stdoutText == "root\n")
        }
    }

    @Test func sudoPasswordComesFromTheEnvironmentAndStdinStillReachesTheCommand() throws {
        let variable = "CLUSTERUP_TEST_SUDO_PASSWORD_\(getpid())"
        setenv(variable, "sudo secret", 1)
        defer { unsetenv(variable) }
        try withUser(try passwordUser(), sudo: .password(env: variable)) { _, connection throws in
            let result = try connection.run("id -u; cat", sudo: true, environment: ["X": "y"], stdin: Array("payload".utf8))
            #expect(result.stdoutText == "0\npayload")
            #expect(result.succeeded)
        }
    }

    @Test func aSudoPasswordNeverReachesTheCommandOnANoPasswordHost() throws {
        // Before the handshake, the password was the first stdin line whatever sudo did, and a
        // NOPASSWD rule handed it to the command: `exec --sudo -- cat` printed it.
        let variable = "CLUSTERUP_TEST_SUDO_PASSWORD_NOPASSWD_\(getpid())"
        setenv(variable, "never shown", 1)
        defer { unsetenv(variable) }
        try withUser(Self.operatorUser, sudo: .password(env: variable)) { _, connection throws in
            let result = try connection.run("id -u; cat; echo err >&2", sudo: true, stdin: Array("payload".utf8))
            #expect(result.succeeded)
            #expect(result.stdoutText == "0\npayload")
            #expect(result.stderrText == "err\n")
            #expect(!result.stdoutText.contains("never shown") && !result.stderrText.contains("never shown"))
        }
    }

    @Test func wrongSudoPasswordFailsTheCommand() throws {
        let variable = "CLUSTERUP_TEST_SUDO_PASSWORD_WRONG_\(getpid())"
        setenv(variable, "not it", 1)
        defer { unsetenv(variable) }
        try withUser(try passwordUser(), sudo: .password(env: variable)) { _, connection throws in
            let result = try connection.run("id -u", sudo: true)
            #expect(!result.succeeded)
            #expect(result.stdoutText.isEmpty)
        }
    }

    @Test func askingForRootWithoutSudoConfiguredIsBadInput() throws {
        try withUser(Self.plainUser, sudo: .none) { _, connection throws in
            let error = try #require(throws: ClusterupError.self) { try connection.run("id -u", sudo: true) }
            #expect(error.kind == .badInput)
            #expect(error.hint?.contains("ssh.sudo") == true)
        }
    }

    @Test func uploadWithSudoPlacesARootOwnedFileWhereTheUserCannotWrite() throws {
        try withUser(Self.operatorUser, sudo: .passwordless) { lab, connection throws in
            let path = lab.dir + "/root-only.conf" // lab.dir is root's, mode 0700
            let content = Array("secret: 1\n".utf8)
            #expect(try connection.upload(content, to: path, mode: 0o600, owner: "root", group: "root", sudo: true))
            #expect(FileManager.default.contents(atPath: path) == Data(content))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect((attributes[.ownerAccountName] as? String) == "root")
            #expect(try connection.upload(content, to: path, mode: 0o600, owner: "root", group: "root", sudo: true) == false)
            #expect(try connection.download(path, sudo: true) == content)
            let spool = try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix(".clusterup-") }
            #expect(spool.isEmpty)
        }
    }

    @Test func uploadAllWithSudoPlacesRootOwnedFilesAndRemovesTheSpool() throws {
        try withUser(Self.operatorUser, sudo: .passwordless) { lab, connection throws in
            let files = ["a", "b"].map { name in
                SSHConnection.UploadFile(Array("\(name)\n".utf8), to: lab.dir + "/root-\(name).conf", mode: 0o600, owner: "root", group: "root")
            }
            try connection.uploadAll(files, sudo: true)
            for file in files {
                #expect(FileManager.default.contents(atPath: file.path) == Data(file.bytes))
                #expect((try FileManager.default.attributesOfItem(atPath: file.path)[.ownerAccountName] as? String) == "root")
            }
            let spool = try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix(".clusterup-") }
            #expect(spool.isEmpty)
        }
    }

    @Test func uploadWithoutSudoToAProtectedDirectoryFailsWithPermissionDenied() throws {
        try withUser(Self.operatorUser, sudo: .passwordless) { lab, connection throws in
            let error = try #require(throws: ClusterupError.self) {
                try connection.upload([1], to: lab.dir + "/nope", mode: 0o644)
            }
            #expect(error.message.contains("permission denied"))
            #expect(!FileManager.default.fileExists(atPath: lab.dir + "/nope"))
        }
    }
}
