import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabImagesBuildCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Build the node image of a release now, unless it is there (lab up builds it when needed).")

        @Argument(help: "bookworm (12) or trixie (13).")
        var release: String

        @Flag(name: .long, help: "Say whether it would be built; build nothing.")
        var dryRun = false

        @Option(name: .long, help: "text or json.")
        var output: OutputFormat = .text

        func run() async throws {
            let release = try DebianRelease.parse(release, option: "RELEASE")
            try ImageCache.requireRoot()
            let name = ImageCache.nodeImageName(release)
            let cache = ImageCache()
            let present = cache.isCurrentNodeImage(release)
            if !present && !dryRun {
                let started = Date()
                _ = try await Blocking.run("lab-image-build") { try cache.nodeImage(release, progress: labProgress) }
                labProgress(String(format: "image %@ ready after %.0f s", name, Date().timeIntervalSince(started)))
            }
            let image = present || !dryRun ? try await Blocking.run("lab-images") { cache.list().first { $0.name == name } } : nil
            switch output {
            case .json:
                let result: JSONValue = .object([
                    ("image", .string(name)), ("release", .string(release.rawValue)),
                    ("action", .string(present ? "present" : dryRun ? "would build" : "built")),
                    ("path", .string(cache.path(of: name))),
                    ("size_bytes", image?.sizeBytes.map { .int($0) } ?? .null),
                ])
                print(result.pretty)
            case .text:
                let size = image?.sizeBytes.map { ", \(LabImagesCommand.megabytes($0))" } ?? ""
                print("\(name): \(present ? "present" : dryRun ? "would be built" : "built") at \(cache.path(of: name))\(size)")
            }
        }
    }
}
