import Testing
@testable import ClusterupCore

/// `artifacts.NAME: {url, sha256, extract, version}`: a release tarball, read from the inventory.
@Suite struct ReleaseTarballArtifactTests {
    let digest = String(repeating: "ab", count: 32)

    func artifact(_ entry: String) throws -> Artifact? {
        try parseInventory(minimalInventory(extra: "artifacts:\n  etcd: \(entry)\n")).deploy.artifacts["etcd"]
    }

    @Test func aTarballNamesTheMemberAndTheVersion() throws {
        let etcd = try #require(try artifact(
            "{url: https://example.invalid/etcd-v3.5.16-linux-amd64.tar.gz, sha256: \(digest), extract: etcd-v3.5.16-linux-amd64/etcd, version: 3.5.16}"))
        #expect(etcd.source == .url("https://example.invalid/etcd-v3.5.16-linux-amd64.tar.gz", sha256: digest, extract: "etcd-v3.5.16-linux-amd64/etcd"))
        #expect(etcd.version == "3.5.16")
        // Where it goes on the node: the component's usual path unless `path` says otherwise.
        #expect(etcd.path == "/usr/bin/etcd")
    }

    @Test func aFileURLIsAccepted() throws {
        let etcd = try #require(try artifact("{url: 'file:///srv/etcd.tar.gz', sha256: \(digest), extract: etcd}"))
        #expect(etcd.source == .url("file:///srv/etcd.tar.gz", sha256: digest, extract: "etcd"))
        #expect(etcd.version == nil)
    }

    @Test func theEntryKeepsTheLineOfEachKeyForLaterErrors() throws {
        let yaml = minimalInventory(extra: """
        artifacts:
          etcd:
            url: https://example.invalid/etcd.tar.gz
            sha256: \(digest)
            extract: etcd-v3.5.16-linux-amd64/etcd
        """)
        let etcd = try #require(try parseInventory(yaml).deploy.artifacts["etcd"])
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let sha256Line = try #require(lines.firstIndex { $0.contains("sha256:") }) + 1
        #expect(etcd.locations["sha256"]?.hasPrefix("inv.yml:\(sha256Line):") == true, "\(etcd.locations)")
        let error = etcd.error("sha256", "https://example.invalid/etcd.tar.gz has sha256 00…, the inventory expects ab…")
        #expect(error.exitCode == 2)
        #expect(error.location == etcd.locations["sha256"])
        #expect(error.message.hasPrefix("artifacts.etcd.sha256: "))
    }

    @Test(arguments: ["/etcd", "../etcd", "bin/../../etcd", "etcd-v3.5.16/"])
    func aMemberOutsideTheArchiveOrADirectoryIsRefused(member: String) {
        let error = parseError(minimalInventory(extra: "artifacts:\n  etcd: {url: https://example.invalid/e.tgz, sha256: \(digest), extract: '\(member)'}\n"))
        #expect(error?.exitCode == 2)
        #expect(error?.message.contains("artifacts.etcd.extract") == true, "\(String(describing: error))")
        #expect(error?.location?.hasPrefix("inv.yml:") == true)
    }

    @Test func extractWithoutAURLIsRefused() {
        let error = parseError(minimalInventory(extra: "artifacts:\n  etcd: {present: true, extract: etcd}\n"))
        #expect(error?.exitCode == 2)
        #expect(error?.message.contains("applies to a url artifact") == true, "\(String(describing: error))")
        #expect(error?.hint?.contains("file://") == true)
    }

    @Test func aTarballWithoutItsSha256IsRefused() {
        let error = parseError(minimalInventory(extra: "artifacts:\n  etcd: {url: https://example.invalid/e.tgz, extract: etcd}\n"))
        #expect(error?.exitCode == 2)
        #expect(error?.message.contains("needs its sha256") == true)
    }

    @Test func aVersionOnAPackageIsRefusedNotIgnored() {
        let error = parseError(minimalInventory(extra: "artifacts:\n  etcd: {package: etcd-server, version: 3.4.23}\n"))
        #expect(error?.exitCode == 2)
        #expect(error?.message.contains("artifacts.etcd.version") == true, "\(String(describing: error))")
    }
}
