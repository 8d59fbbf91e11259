import Foundation
import Testing
@testable import ClusterupSSH

/// Expected strings are what `ssh-keygen -lf` printed for these public keys (comment removed).
@Suite struct HostKeyFingerprintTests {
    @Test func ed25519FingerprintMatchesSshKeygen() throws {
        let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9kFxO7rU3BglwxRDPfiJwL1pdvcC18xH73XgqH+cj6 vec"
        let key = try #require(HostKey.blob(fromPublicKeyLine: line).flatMap(HostKey.init(blob:)))
        #expect(key.fingerprint == "256 SHA256:sSN1ha82lvygklR3L2Kr1kFHV3TahMUxrmhk3Q/ZJlE (ED25519)")
    }

    @Test func ecdsa384FingerprintCarriesCurveBits() throws {
        let line = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBASLt6Z6zTlVmPiQ4QEskqnS0p/7Hj0oCmwVok0N+koSVTMBIuasUI0T3DIPo9CfXxeqFqQ9OMg/RCFNrw4ZYBfGbfWVhMiGu2aq1dA5d75IJAqWR14zTbMxtMcWDqE4wQ=="
        let key = try #require(HostKey.blob(fromPublicKeyLine: line).flatMap(HostKey.init(blob:)))
        #expect(key.fingerprint == "384 SHA256:YFsOE1p2cY2+QaV0P1BApBKqHVCX0QHb+25QIx/Tn1w (ECDSA)")
    }

    @Test func rsaBitsComeFromTheModulus() throws {
        let line = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC9tvgq9whUxJRrVOrkWFSBrsF0wyp0yOfw9oHCt3vC0hnPUwdyYzh+FynPn3cez7pyjWn1EcCGvjxujTZjjfLZLiVXiVkSum5ZkCduVRyETkt7WYYNPtt8JkkktBAeTtDW1eE7Z6RGHYh8wwfwwdYbNs2mDSFAI3b8It6qH7Xg3iG0cTUIoDRtksuFG16nFgZIEwArEF1WA6/WNvnAgzzVlamqH3WZHb4epJHGOsx7+YTOfDeL8uz6vNMShj3ZbD6IDbJ2YumLXhuc1TPVwBDD29/LMhibrIerheqnu6YHq5tTvgPLuu6aalbEj/UPM4Oi7B/T5sotFXGWggsGxr8rxPOZr4bGuhXuTcm9m3vZsG22bU/3cDQKZS9ejZmx9brRSEUCTBIVhqMcgV9MpKx0HZgU0cY4nMDC6Iq5t2HWHfEMyMrggh01523f/TtezxFb94bWky2q++Jf03V0rbD4SnN/Uwspr1ZkPe7yXZtSkXPyr8GsPlxLjzRpZYVBVjU="
        let key = try #require(HostKey.blob(fromPublicKeyLine: line).flatMap(HostKey.init(blob:)))
        #expect(key.fingerprint == "3072 SHA256:TvGyd9uoxHbS5hWDnXWoAg8mpyrE7Hrb4IdbUGxplqU (RSA)")
    }

    @Test func sha256FingerprintHasNoBase64Padding() {
        let formatted = HostKey.formatSHA256([UInt8](repeating: 0, count: 32))
        #expect(formatted == "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    }

    @Test func truncatedBlobIsRejected() {
        #expect(HostKey(blob: [0, 0, 0, 11, 0x73]) == nil)
    }
}

/// Private keys are made by ssh-keygen at test time (no root needed) so the format is the real one.
@Suite struct PrivateKeyInfoTests {
    func generate(_ type: String, passphrase: String = "", format: [String] = []) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-keytest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runTool("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-f", dir + "/key"] + format)
        return try String(contentsOfFile: dir + "/key", encoding: .utf8)
    }

    @Test func plainEd25519IsNotEncrypted() throws {
        #expect(PrivateKeyInfo.inspect(try generate("ed25519")) == .init(kind: .ed25519, encrypted: false))
    }

    @Test func passphraseProtectedEd25519IsEncrypted() throws {
        #expect(PrivateKeyInfo.inspect(try generate("ed25519", passphrase: "secret")) == .init(kind: .ed25519, encrypted: true))
    }

    @Test func ecdsaKeyIsRecognised() throws {
        #expect(PrivateKeyInfo.inspect(try generate("ecdsa")).kind == .ecdsa)
    }

    @Test func rsaKeyIsRecognisedInOpenSSHAndPEMFormat() throws {
        #expect(PrivateKeyInfo.inspect(try generate("rsa", format: ["-b", "2048"])).kind == .rsa)
        #expect(PrivateKeyInfo.inspect(try generate("rsa", passphrase: "long enough", format: ["-m", "PEM", "-b", "2048"])) == .init(kind: .rsa, encrypted: true))
    }
}
