import ClusterupCore
import ClusterupSSH
import Foundation
import Synchronization
import Testing
@testable import ClusterupDeploy

/// Release tarballs as artifacts: the archive fetched (file:// here), its sha256 checked before
/// tar opens it, the named member extracted. Tarballs are made by the test with tar; no root.
@Suite struct ReleaseArchiveTests {
    /// A directory with `etcd-v3.5.16-linux-amd64/{etcd,etcdctl,README.md}`, packed as `name`
    /// with `tar` option `compress` (nil: uncompressed); returns (directory, archive path, sha256).
    func tarball(_ compress: String? = "--gzip", name: String = "etcd.tar.gz", dotSlash: Bool = false) throws -> (dir: String, path: String, sha256: String) {
        let dir = NSTemporaryDirectory() + "cu-archive-" + UUID().uuidString
        let tree = dir + "/tree/etcd-v3.5.16-linux-amd64"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'etcd Version: 3.5.16'\n".write(toFile: tree + "/etcd", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho 'etcdctl version: 3.5.16'\n".write(toFile: tree + "/etcdctl", atomically: true, encoding: .utf8)
        try "read me\n".write(toFile: tree + "/README.md", atomically: true, encoding: .utf8)
        let path = dir + "/" + name
        let member = dotSlash ? "./etcd-v3.5.16-linux-amd64" : "etcd-v3.5.16-linux-amd64"
        _ = try runShell("tar -C \(dir)/tree \(compress ?? "") -cf \(path) \(member)")
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        return (dir, path, sha256Hex(bytes))
    }

    func artifact(_ url: String, sha256: String, extract: String, name: String = "etcd") -> Artifact {
        Artifact(name: name, source: .url(url, sha256: sha256, extract: extract), path: "/usr/bin/\(name)", version: "3.5.16",
                 locations: ["": "inv.yml:12:9", "url": "inv.yml:12:14", "sha256": "inv.yml:13:17", "extract": "inv.yml:14:18"])
    }

    @Test(arguments: ["--gzip", "--xz", "--bzip2", nil])
    func theMemberIsExtractedFromACheckedArchive(compress: String?) throws {
        let made = try tarball(compress, name: "etcd.tar")
        defer { try? FileManager.default.removeItem(atPath: made.dir) }
        let cache = ArtifactCache(directory: made.dir + "/cache")
        let etcd = artifact("file://\(made.path)", sha256: made.sha256, extract: "etcd-v3.5.16-linux-amd64/etcd")
        let bytes = try #require(try ArtifactsPhase.bytes(of: etcd, cache: cache))
        #expect(String(decoding: bytes, as: UTF8.self) == "#!/bin/sh\necho 'etcd Version: 3.5.16'\n")
        // The archive is kept in the cache under its digest, the member is not.
        #expect(FileManager.default.fileExists(atPath: "\(made.dir)/cache/\(made.sha256)"))
    }

    @Test func twoArtifactsFromOneTarballFetchedAtOnceBothGetTheirMember() throws {
        // etcd and etcdctl name the same archive; deploy fetches them in parallel into one cache.
        let made = try tarball()
        defer { try? FileManager.default.removeItem(atPath: made.dir) }
        let cache = ArtifactCache(directory: made.dir + "/cache")
        let names = ["etcd", "etcdctl", "etcd", "etcdctl", "etcd", "etcdctl", "etcd", "etcdctl"]
        let results = Mutex([String?](repeating: nil, count: names.count))
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let artifact = artifact("file://\(made.path)", sha256: made.sha256, extract: "etcd-v3.5.16-linux-amd64/\(names[index])", name: names[index])
            let text: String
            do { text = String(decoding: try ArtifactsPhase.bytes(of: artifact, cache: cache) ?? [], as: UTF8.self) } catch { text = "\(error)" }
            results.withLock { $0[index] = text }
        }
        for (index, text) in results.withLock({ $0 }).enumerated() {
            #expect(text?.contains("\(names[index]) \(names[index] == "etcd" ? "Version" : "version"): 3.5.16") == true, "\(text ?? "nil")")
        }
        // One copy kept, no partial download left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: made.dir + "/cache") == [made.sha256])
    }

    @Test func aLeadingDotSlashOnEitherSideStillMatches() throws {
        let made = try tarball(dotSlash: true)
        defer { try? FileManager.default.removeItem(atPath: made.dir) }
        let cache = ArtifactCache(directory: made.dir + "/cache")
        let etcdctl = artifact("file://\(made.path)", sha256: made.sha256, extract: "etcd-v3.5.16-linux-amd64/etcdctl", name: "etcdctl")
        let bytes = try #require(try ArtifactsPhase.bytes(of: etcdctl, cache: cache))
        #expect(String(decoding: bytes, as: UTF8.self).contains("etcdctl version: 3.5.16"))
    }

    @Test func aWrongDigestIsBadInputNamingTheURLBothDigestsAndTheLine() throws {
        let made = try tarball()
        defer { try? FileManager.default.removeItem(atPath: made.dir) }
        let wrong = String(repeating: "0", count: 64)
        let etcd = artifact("file://\(made.path)", sha256: wrong, extract: "etcd-v3.5.16-linux-amd64/etcd")
        let error = try #require(throws: ClusterupError.self) { try ArtifactsPhase.bytes(of: etcd, cache: ArtifactCache(directory: made.dir + "/cache")) }
        #expect(error.exitCode == 2)
        #expect(error.location == "inv.yml:13:17")
        #expect(error.message.contains("artifacts.etcd.sha256"))
        #expect(error.message.contains("file://\(made.path)"))
        #expect(error.message.contains("has sha256 \(made.sha256)"))
        #expect(error.message.contains("expects \(wrong)"))
        // Nothing is kept of a download that does not match.
        let cached = (try? FileManager.default.contentsOfDirectory(atPath: made.dir + "/cache")) ?? []
        #expect(cached.isEmpty, "\(cached)")
    }

    @Test func aMemberTheArchiveLacksNamesTheProgramsItHolds() throws {
        let made = try tarball()
        defer { try? FileManager.default.removeItem(atPath: made.dir) }
        let etcd = artifact("file://\(made.path)", sha256: made.sha256, extract: "etcd")
        let error = try #require(throws: ClusterupError.self) { try ArtifactsPhase.bytes(of: etcd, cache: ArtifactCache(directory: made.dir + "/cache")) }
        #expect(error.exitCode == 2)
        #expect(error.location == "inv.yml:14:18")
        #expect(error.message.contains("artifacts.etcd.extract: 'etcd' is not in the archive"), "\(error)")
        #expect(error.hint == "it holds etcd-v3.5.16-linux-amd64/etcd")
    }

    @Test func aDirectoryMemberIsNotAProgram() throws {
        let made = try tarball()
        defer { try? FileManager.default.removeItem(atPath: made.dir) }
        let etcd = artifact("file://\(made.path)", sha256: made.sha256, extract: "etcd-v3.5.16-linux-amd64")
        let error = try #require(throws: ClusterupError.self) { try ArtifactsPhase.bytes(of: etcd, cache: ArtifactCache(directory: made.dir + "/cache")) }
        #expect(error.exitCode == 2)
        #expect(error.message.contains("not a program"), "\(error)")
    }

    @Test func aDownloadThatIsNoArchiveSaysSo() throws {
        let dir = NSTemporaryDirectory() + "cu-archive-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/etcd"
        try "#!/bin/sh\necho not an archive\n".write(toFile: path, atomically: true, encoding: .utf8)
        let digest = sha256Hex([UInt8](try #require(FileManager.default.contents(atPath: path))))
        let etcd = artifact("file://\(path)", sha256: digest, extract: "etcd")
        let error = try #require(throws: ClusterupError.self) { try ArtifactsPhase.bytes(of: etcd, cache: ArtifactCache(directory: dir + "/cache")) }
        #expect(error.message.contains("tar could not read the archive"), "\(error)")
        #expect(error.exitCode == 2)
    }

    @Test func compressionIsToldByTheFirstBytes() {
        #expect(ReleaseArchive.Compression.detect([0x1f, 0x8b, 0x08, 0]) == .gzip)
        #expect(ReleaseArchive.Compression.detect([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]) == .xz)
        #expect(ReleaseArchive.Compression.detect(Array("BZh91AY".utf8)) == .bzip2)
        #expect(ReleaseArchive.Compression.detect([0x28, 0xb5, 0x2f, 0xfd, 0]) == .zstd)
        #expect(ReleaseArchive.Compression.detect(Array("etcd-v3.5.16/etcd\0".utf8)) == .none)
        #expect(ReleaseArchive.Compression.detect([0x1f]) == .none)
    }

    @Test func lookupIgnoresDotSlashAndSuggestsFilesNamedLikeTheProgram() {
        let listing = "./kubernetes/\n./kubernetes/server/bin/kube-apiserver\n./kubernetes/server/bin/kubectl\n"
        #expect(ReleaseArchive.lookup("kubernetes/server/bin/kube-apiserver", in: listing, program: "kube-apiserver")
                == .found("./kubernetes/server/bin/kube-apiserver"))
        #expect(ReleaseArchive.lookup("kubernetes/server", in: listing + "./kubernetes/server/\n", program: "kube-apiserver")
                == .directory("./kubernetes/server/"))
        #expect(ReleaseArchive.lookup("kube-apiserver", in: listing, program: "kube-apiserver")
                == .missing(suggestions: ["kubernetes/server/bin/kube-apiserver"]))
        // Nothing named like the program: the first files, directories left out.
        #expect(ReleaseArchive.lookup("etcd", in: listing, program: "etcd")
                == .missing(suggestions: ["kubernetes/server/bin/kube-apiserver", "kubernetes/server/bin/kubectl"]))
    }
}
