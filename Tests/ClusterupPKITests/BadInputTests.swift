import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

/// Bad input gives a clear error naming the file, and nothing is half-written.
@Suite struct BadInputTests {
    func error(_ body: () throws -> Any) -> ClusterupError? {
        do { _ = try body(); return nil } catch { return error as? ClusterupError }
    }

    /// A self-signed CA made with the openssl command, key encrypted with `passphrase`.
    func makeExternalCA(in dir: TemporaryDirectory, passphrase: String?) -> (cert: String, key: String) {
        let cert = dir.path + "/external-ca.crt", key = dir.path + "/external-ca.key"
        let result = run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                              "-keyout", key, "-out", cert, "-subj", "/CN=external-ca", "-days", "30",
                                              "-addext", "basicConstraints=critical,CA:TRUE",
                                              "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
                         + (passphrase.map { ["-passout", "pass:\($0)"] } ?? ["-noenc"]))
        #expect(result.status == 0, "\(result.output)")
        return (cert, key)
    }

    /// A one-node request signing with an external CA whose key is encrypted with "s3cret".
    func externalCARequest(in dir: TemporaryDirectory, passphraseEnvironmentVariable: String?)
        -> (external: (cert: String, key: String), request: PKIRequest) {
        let external = makeExternalCA(in: dir, passphrase: "s3cret")
        var request = makeRequest(nodes: 1, directory: dir.pki)
        request.settings.externalCA = .init(certificatePath: external.cert, keyPath: external.key,
                                            passphraseEnvironmentVariable: passphraseEnvironmentVariable)
        return (external, request)
    }

    @Test func aCAKeyThatDoesNotMatchItsCertificateIsRefusedAndNothingWritten() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki)).run(now: Date())
        try FileManager.default.removeItem(atPath: dir.pki + "/ca.key")
        try FileManager.default.copyItem(atPath: dir.pki + "/front-proxy-ca.key", toPath: dir.pki + "/ca.key")
        let before = snapshot(dir.pki)
        let failure = error { try PKIGenerator(request: makeRequest(nodes: 2, directory: dir.pki)).run(now: Date()) }
        #expect(failure?.message == "CA key does not match the CA certificate")
        #expect(failure?.location == dir.pki + "/ca.key")
        #expect(failure?.exitCode == 2)
        #expect(snapshot(dir.pki) == before)
    }

    @Test func aMissingCAKeyIsNeverReplacedSilently() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki)).run(now: Date())
        try FileManager.default.removeItem(atPath: dir.pki + "/etcd/ca.key")
        let before = snapshot(dir.pki)
        let failure = error { try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki)).run(now: Date()) }
        #expect(failure?.location == dir.pki + "/etcd/ca.key")
        #expect(failure?.hint?.contains("move the CA's files aside deliberately") == true)
        #expect(snapshot(dir.pki) == before)
    }

    @Test func anExpiredCAIsRefusedAndNothingWritten() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let longAgo = Date().addingTimeInterval(-400 * 86_400)
        var request = makeRequest(nodes: 1, directory: dir.pki)
        request.settings.caValidity = .days(100)
        _ = try PKIGenerator(request: request).run(now: longAgo)
        let before = snapshot(dir.pki)
        let failure = error { try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki)).run(now: Date()) }
        #expect(failure?.message.hasPrefix("CA certificate expired") == true)
        #expect(failure?.location == dir.pki + "/ca.crt")
        #expect(snapshot(dir.pki) == before)
    }

    @Test func anInvalidSANIsRefusedBeforeAnyFileIsTouched() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let failure = error { try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki, extraSANs: ["not a name"])) }
        #expect(failure?.location == "pki.extra_sans[0]")
        #expect(failure?.hint?.contains("DNS name") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.pki))
    }

    @Test func anEncryptedExternalCAKeyWithoutPassphraseIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (external, request) = externalCARequest(in: dir, passphraseEnvironmentVariable: nil)
        let failure = error { try PKIGenerator(request: request, environment: [:]).run(now: Date()) }
        #expect(failure?.location == external.key)
        #expect(failure?.message.contains("encrypted and no passphrase") == true)
        #expect(failure?.hint?.contains("passphrase_env") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.pki))
    }

    @Test func anUnsetPassphraseVariableOrAWrongPassphraseIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, request) = externalCARequest(in: dir, passphraseEnvironmentVariable: "CA_PASSPHRASE")
        let unset = error { try PKIGenerator(request: request, environment: [:]).run(now: Date()) }
        #expect(unset?.message == "environment variable CA_PASSPHRASE (pki.external_ca.passphrase_env) is not set")
        let wrong = error { try PKIGenerator(request: request, environment: ["CA_PASSPHRASE": "nope"]).run(now: Date()) }
        #expect(wrong?.message.contains("wrong passphrase") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.pki))
    }

    @Test func anEncryptedExternalCASignsWithItsPassphraseAndItsKeyIsNotCopied() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (external, request) = externalCARequest(in: dir, passphraseEnvironmentVariable: "CA_PASSPHRASE")
        let generator = try PKIGenerator(request: request, environment: ["CA_PASSPHRASE": "s3cret"])
        let report = try generator.run(now: Date())
        #expect(report.installedExternalCA && report.createdAuthorities == ["etcd/ca", "front-proxy-ca"])
        #expect(openssl("verify", "-CAfile", external.cert, dir.pki + "/nodes/node1/apiserver.crt").status == 0)
        #expect(openssl("verify", "-CAfile", external.cert, dir.pki + "/admin.crt").status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.pki + "/ca.key"))
        #expect(openssl("x509", "-noout", "-fingerprint", "-in", dir.pki + "/ca.crt").output
                == openssl("x509", "-noout", "-fingerprint", "-in", external.cert).output)
        #expect(try generator.run(now: Date()).written.isEmpty)
    }

    @Test func aFileInTheWayOfADirectoryFailsWithNothingWritten() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki)).run(now: Date())
        try FileManager.default.createDirectory(atPath: dir.pki + "/nodes/node2", withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: dir.pki + "/nodes/node2/etcd", contents: Data("in the way".utf8)))
        let before = snapshot(dir.pki)
        let failure = error { try PKIGenerator(request: makeRequest(nodes: 2, directory: dir.pki)).run(now: Date()) }
        #expect(failure?.location == dir.pki + "/nodes/node2/etcd")
        #expect(failure?.message == "is not a directory")
        #expect(snapshot(dir.pki) == before)
    }

    @Test func aFileThatCannotBeReadIsNamed() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.pki + "/b.crt", withIntermediateDirectories: true)
        let failure = error { try PKIDirectory(root: dir.pki).write([.certificate("a.crt", Data("a".utf8)), .certificate("b.crt", Data("b".utf8))]) }
        #expect(failure?.location == dir.pki + "/b.crt")
        #expect(snapshot(dir.pki).isEmpty)
    }

    @Test func aFailedRenameSaysWhichFilesWereWrittenAndLeavesNoTemporaryFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let directory = PKIDirectory(root: dir.pki) { from, to in
            to.hasSuffix("/b.crt") ? { errno = EIO; return -1 }() : rename(from, to)
        }
        let failure = error {
            try directory.write([.certificate("a.crt", Data("a".utf8)), .certificate("b.crt", Data("b".utf8)),
                                 .secret("c.key", Data("c".utf8))])
        }
        #expect(failure?.location == dir.pki + "/b.crt")
        #expect(failure?.hint?.contains("written: a.crt; NOT written: b.crt, c.key") == true)
        #expect(Set(snapshot(dir.pki).keys) == ["a.crt"])
    }

    @Test(.enabled(if: canMakeUnwritable, "as root this needs chattr +i (ext4-like /tmp)"))
    func anUnwritableDirectoryFailsWithNothingWritten() throws {
        let dir = TemporaryDirectory()
        defer {
            makeUnwritable(dir.pki + "/nodes", false)
            dir.remove()
        }
        _ = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki)).run(now: Date())
        makeUnwritable(dir.pki + "/nodes", true)
        let before = snapshot(dir.pki)
        let failure = error { try PKIGenerator(request: makeRequest(nodes: 2, directory: dir.pki)).run(now: Date()) }
        #expect(failure?.kind == .local)
        #expect(failure?.location == dir.pki + "/nodes/node2")
        #expect(failure?.message.hasPrefix("cannot create directory") == true)
        #expect(snapshot(dir.pki) == before)
    }
}

/// Root ignores permission bits, so as root the immutable attribute stands in for them.
func makeUnwritable(_ path: String, _ unwritable: Bool) {
    if geteuid() == 0 {
        run("/usr/bin/chattr", [unwritable ? "+i" : "-i", path])
    } else {
        chmod(path, unwritable ? 0o500 : 0o700)
    }
}

let canMakeUnwritable: Bool = {
    guard geteuid() == 0 else { return true }
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    makeUnwritable(dir.path, true)
    defer { makeUnwritable(dir.path, false) }
    return mkdir(dir.path + "/probe", 0o700) != 0
}()
