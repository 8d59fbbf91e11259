import Foundation
@testable import ClusterupLab

/// The .deb and tarball scripts/package makes from this checkout, built at most once per test run:
/// scripts/test builds them before the tests start (so the release build does not compete with the
/// lab tests for the CPU) and says so with CLUSTERUP_PACKAGE_BUILT=1; otherwise the first test
/// that needs them builds them.
actor PackageFiles {
    static let shared = PackageFiles()
    static let repo = ClusterupBinary.repo.path

    static var version: String {
        get throws { try String(contentsOfFile: repo + "/VERSION", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
    static var deb: String { get throws { "\(repo)/dist/clusterup_\(try version)_amd64.deb" } }
    static var tarballDirectory: String { get throws { "clusterup-\(try version)-linux-amd64" } }
    static var tarball: String { get throws { "\(repo)/dist/\(try tarballDirectory).tar.gz" } }

    private var built = false

    func ensureBuilt() async throws {
        if built { return }
        let prebuilt = ProcessInfo.processInfo.environment["CLUSTERUP_PACKAGE_BUILT"] == "1"
        let deb = try Self.deb, tarball = try Self.tarball
        if !(prebuilt && FileManager.default.fileExists(atPath: deb) && FileManager.default.fileExists(atPath: tarball)) {
            try await Blocking.run {
                _ = try HostCommands().check(Self.repo + "/scripts/package", [], what: "build the package (scripts/package)")
            }
        }
        built = true
    }

    /// The commit the binaries say they were built from: HEAD of this checkout.
    static func headCommit() throws -> String {
        try HostCommands().check("git", ["-C", repo, "rev-parse", "--short=12", "HEAD"], what: "read HEAD")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
