import Foundation
@testable import ClusterupLab

/// The built `clusterup` program, run as a user would (lab tests test the binary, not the library).
enum ClusterupBinary {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let path = repo.appendingPathComponent(".build/debug/clusterup").path

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs it off the cooperative pool; a hung run is killed after `limit` seconds so it fails the
    /// test instead of stalling the suite.
    static func run(_ arguments: [String], limit: Int = 240) async throws -> Run {
        try await Blocking.run {
            let result = try HostCommands().run("timeout", ["--kill-after=10", String(limit), path] + arguments)
            return Run(status: result.status, output: result.stdout + result.stderr)
        }
    }
}
