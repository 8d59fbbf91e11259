import Foundation
@testable import ClusterupLab
import TestSupport

/// The built `clusterup` program, run as a user would (lab tests test the binary, not the library).
enum ClusterupBinary {
    static let repo = URL(fileURLWithPath: Repository.root)
    static let path = BuiltProgram.clusterup.path

    /// The path, or an error saying what to build (`swift build`).
    static func located() throws -> String { try BuiltProgram.clusterup.require() }

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs it off the cooperative pool; a hung run is killed after `limit` seconds so it fails the
    /// test instead of stalling the suite.
    static func run(_ arguments: [String], limit: Int = 240) async throws -> Run {
        let path = try located()
        return try await Blocking.run {
            let result = try HostCommands().run("timeout", ["--kill-after=10", String(limit), path] + arguments)
            return Run(status: result.status, output: result.stdout + result.stderr)
        }
    }
}
