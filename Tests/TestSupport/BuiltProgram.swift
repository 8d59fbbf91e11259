import Foundation

/// The repository this checkout's tests belong to (found from this file's path).
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    public static func path(_ relative: String) -> String { root + "/" + relative }
}

/// A program of this package that tests run as a user would, where its build puts it, and the
/// command that builds it: a test that finds it missing says what to run instead of failing
/// somewhere later.
public struct BuiltProgram: Sendable {
    public var path: String
    public var build: String

    /// `clusterup`, from `swift build`.
    public static let clusterup = BuiltProgram(path: Repository.path(".build/debug/clusterup"), build: "swift build")
    /// `clusterup-vrrpd` linked statically, from `scripts/build-vrrpd` (what deploy uploads to lab nodes).
    public static let staticVRRPD = BuiltProgram(path: Repository.path(".build/dist/clusterup-vrrpd"), build: "scripts/build-vrrpd")
    /// `clusterup-vrrpd` of `swift build` (the daemon the namespace lab runs), or $CLUSTERUP_VRRPD.
    public static var vrrpd: BuiltProgram {
        BuiltProgram(path: ProcessInfo.processInfo.environment["CLUSTERUP_VRRPD"] ?? Repository.path(".build/debug/clusterup-vrrpd"),
                     build: "swift build --product clusterup-vrrpd")
    }

    public var exists: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The path, or an error saying what to build.
    public func require() throws -> String {
        guard exists else { throw ProcessFailed(description: "\(path) is missing: build it with `\(build)` (scripts/test builds everything the tests run)") }
        return path
    }
}
