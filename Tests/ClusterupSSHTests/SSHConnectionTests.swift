import ClusterupCore
import Foundation
import Testing
@testable import ClusterupSSH

@Suite(.startsSSHD)
struct SSHExecTests {
    @Test func stdoutStderrAndExitStatusComeBackApart() throws {
        try withConnection { lab, sshd, connection in
            let result = try connection.run("echo out; echo err >&2; exit 3")
            #expect(result.stdoutText == "out\n")
            #expect(result.stderrText == "err\n")
            #expect(result.exitStatus == 3)
            #expect(result.signal == nil)
        }
    }

    @Test func severalCommandsShareOneConnection() throws {
        try withConnection { lab, sshd, connection in
            let first = try connection.run("echo $PPID")
            let second = try connection.run("echo $SSH_CONNECTION")
            let third = try connection.run("echo $SSH_CONNECTION")
            #expect(first.succeeded)
            #expect(!second.stdoutText.isEmpty)
            #expect(second.stdoutText == third.stdoutText) // same client port: same TCP connection
        }
    }

    @Test func outputIsStreamedInChunksAsItArrives() throws {
        try withConnection { lab, sshd, connection in
            var chunks: [OutputChunk] = []
            let result = try connection.run("echo one; sleep 0.3; echo two >&2") { chunks.append($0) }
            let streamed = chunks.reduce(into: ([UInt8](), [UInt8]())) { sum, chunk in
                switch chunk {
                case .stdout(let bytes): sum.0 += bytes
                case .stderr(let bytes): sum.1 += bytes
                }
            }
            #expect(chunks.count >= 2)
            #expect(streamed.0 == result.stdout)
            #expect(streamed.1 == result.stderr)
        }
    }

    @Test func commandTimeoutClosesTheChannelAndNamesTheCommand() throws {
        try withConnection { lab, sshd, connection in
            let started = Date()
            let error = try #require(throws: ClusterupError.self) { try connection.run("sleep 5", timeout: 0.5) }
            #expect(Date().timeIntervalSince(started) < 3)
            #expect(error.message.contains("'sleep 5' timed out after 0.5s"))
            #expect(error.location == "sshd-\(sshd.port)")
            #expect(try connection.run("echo still usable").stdoutText == "still usable\n")
        }
    }

    @Test func environmentIsExportedWithQuotingIntact() throws {
        try withConnection { lab, sshd, connection in
            let value = #"it's "quoted" $HOME `x` \ ;"#
            let result = try connection.run(#"printf %s "$GREETING""#, environment: ["GREETING": value])
            #expect(result.stdoutText == value)
        }
    }

    @Test func stdinIsDeliveredAndLargeOutputDoesNotDeadlock() throws {
        try withConnection { lab, sshd, connection in
            let input = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            // Echo stdin to stdout and a copy to stderr, so both windows fill at once.
            let result = try connection.run("tee /dev/stderr", stdin: input)
            #expect(result.stdout == input)
            #expect(result.stderr == input)
        }
    }

    @Test func killedCommandReportsTheSignal() throws {
        try withConnection { lab, sshd, connection in
            let result = try connection.run("kill -KILL $$")
            #expect(result.signal == "KILL")
            #expect(!result.succeeded)
        }
    }

    @Test func sudoForRootLoginRunsTheCommandDirectly() throws {
        try Lab.with { lab in
            try lab.withSSHD { sshd in
                try lab.trust(sshd)
                var target = lab.target(sshd)
                target.sudo = .passwordless // sudo is not even installed here: it must not be called for root
                let connection = try SSHConnection.connect(target)
                #expect(try connection.run("id -u", sudo: true).stdoutText == "0\n")
            }
        }
    }

    @Test func connectionRefusedNamesHostAndPort() throws {
        try Lab.with { lab in
            let port = try freePort()
            let target = SSHTarget(name: "nowhere", address: "127.0.0.1", port: port, user: "root",
                                   identityFiles: [lab.clientKey], useAgent: false, knownHostsFiles: [lab.knownHosts])
            let error = try #require(throws: ClusterupError.self) { try SSHConnection.connect(target) }
            #expect(error.message == "connection refused by 127.0.0.1:\(port)")
            #expect(error.location == "nowhere")
            #expect(error.hint != nil)
        }
    }
}

@Suite(.startsSSHD)
struct SSHFileTransferTests {
    @Test func uploadWritesContentAndModeThenSkipsWhenUnchanged() throws {
        try withConnection { lab, sshd, connection in
            let path = lab.dir + "/remote/app.conf"
            try FileManager.default.createDirectory(atPath: lab.dir + "/remote", withIntermediateDirectories: true)
            let content = Array("key: value\n".utf8)
            #expect(try connection.upload(content, to: path, mode: 0o640, owner: "root", group: "root"))
            #expect(FileManager.default.contents(atPath: path) == Data(content))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o640)
            #expect(try connection.upload(content, to: path, mode: 0o640, owner: "root", group: "root") == false)
        }
    }

    @Test func changedContentOrModeReplacesTheFileByRename() throws {
        try withConnection { lab, sshd, connection in
            let path = lab.dir + "/file"
            #expect(try connection.upload(Array("v1".utf8), to: path, mode: 0o600))
            let firstInode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
            #expect(try connection.upload(Array("v2".utf8), to: path, mode: 0o600))
            let secondInode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
            #expect(firstInode != secondInode) // a new file renamed over the old one, not rewritten in place
            #expect(try connection.upload(Array("v2".utf8), to: path, mode: 0o644))
            #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o644)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: lab.dir).filter { $0.contains("clusterup-") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func uploadIntoMissingDirectoryFailsAndSaysNothingChanged() throws {
        try withConnection { lab, sshd, connection in
            let error = try #require(throws: ClusterupError.self) {
                try connection.upload([1], to: lab.dir + "/missing/file", mode: 0o644)
            }
            #expect(error.message.contains("no such file or directory"))
        }
    }

    @Test func uploadAllPutsEveryFileInPlaceWithItsModeAndNoTempFiles() throws {
        try withConnection { lab, sshd, connection in
            let files = (1...3).map { i in
                SSHConnection.UploadFile(Array("file \(i)\n".utf8), to: lab.dir + "/many-\(i)", mode: i == 2 ? 0o600 : 0o644,
                                         owner: "root", group: "root")
            }
            try connection.uploadAll(files)
            for file in files {
                #expect(FileManager.default.contents(atPath: file.path) == Data(file.bytes))
                #expect((try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) == Int(file.mode))
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: lab.dir).filter { $0.contains("clusterup-") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func uploadAllStopsAtADirectoryInTheWayLeavingEarlierFilesInPlaceAndLaterOnesUntouched() throws {
        try withConnection { lab, sshd, connection in
            try FileManager.default.createDirectory(atPath: lab.dir + "/in-the-way", withIntermediateDirectories: true)
            let error = try #require(throws: ClusterupError.self) {
                try connection.uploadAll([
                    SSHConnection.UploadFile(Array("1\n".utf8), to: lab.dir + "/before", mode: 0o600, owner: "root", group: "root"),
                    SSHConnection.UploadFile(Array("2\n".utf8), to: lab.dir + "/in-the-way"),
                    SSHConnection.UploadFile(Array("3\n".utf8), to: lab.dir + "/after"),
                ])
            }
            #expect(error.message.contains("could not put \(lab.dir)/in-the-way in place"), "\(error.message)")
            #expect(FileManager.default.contents(atPath: lab.dir + "/before") == Data("1\n".utf8))
            #expect((try FileManager.default.attributesOfItem(atPath: lab.dir + "/before")[.posixPermissions] as? Int) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: lab.dir + "/in-the-way").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: lab.dir + "/after"))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: lab.dir).filter { $0.contains("clusterup-") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func uploadAllIntoAMissingDirectoryPutsNothingInPlace() throws {
        try withConnection { lab, sshd, connection in
            let error = try #require(throws: ClusterupError.self) {
                try connection.uploadAll([
                    SSHConnection.UploadFile([1], to: lab.dir + "/first"),
                    SSHConnection.UploadFile([2], to: lab.dir + "/missing/second"),
                ])
            }
            #expect(error.message.contains("no such file or directory"))
            #expect(!FileManager.default.fileExists(atPath: lab.dir + "/first"))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: lab.dir).filter { $0.contains("clusterup-") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func downloadReturnsTheExactBytes() throws {
        try withConnection { lab, sshd, connection in
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
            try Data(bytes).write(to: URL(fileURLWithPath: lab.dir + "/blob"))
            #expect(try connection.download(lab.dir + "/blob") == bytes)
            #expect(throws: ClusterupError.self) { try connection.download(lab.dir + "/absent") }
        }
    }
}
