import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup.Lab {
    /// `clusterup lab images`: the cached Debian roots that nodes of other releases boot from.
    struct Images: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "images",
            abstract: "List, build or remove the cached Debian images lab nodes of other releases boot from.",
            discussion: """
            Nodes of this machine's own release are overlays of /; a node of another release (`lab up --release trixie`) is an overlay of a Debian root that debootstrap makes once and every lab reuses. The cache (\(ImageCache.defaultDirectory), or $CLUSTERUP_IMAGE_CACHE) also holds the package tests' roots. `lab down` never removes images.

            Examples:
              clusterup lab images
              clusterup lab images build trixie
              clusterup lab images remove trixie-node --dry-run
            """,
            subcommands: [List.self, Build.self, Remove.self],
            defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "The cached images with release, size, build date and the mounts using them.")

            @Option(name: .long, help: "text or json.")
            var output: OutputFormat = .text

            func run() async throws {
                let images = try await Blocking.run("lab-images") { ImageCache().list() }
                switch output {
                case .json:
                    print(try encodeImages(images))
                case .text:
                    guard !images.isEmpty else {
                        print("no images in \(ImageCache().directory)")
                        return
                    }
                    let rows = images.map { image in
                        [image.name, image.release ?? "-", image.purpose, image.sizeBytes.map(megabytes) ?? "-",
                         image.complete ? image.builtAt.map(timestamp) ?? "-" : "unfinished",
                         image.usedBy.isEmpty ? "-" : "\(image.usedBy.count) mount(s)"]
                    }
                    print(TextTable.render(header: ["IMAGE", "RELEASE", "FOR", "SIZE", "BUILT", "IN USE"], rows: rows))
                }
            }
        }

        struct Build: AsyncParsableCommand {
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
                    let size = image?.sizeBytes.map { ", \(megabytes($0))" } ?? ""
                    print("\(name): \(present ? "present" : dryRun ? "would be built" : "built") at \(cache.path(of: name))\(size)")
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "remove", abstract: "Remove cached images (refused while a lab node or test uses one).")

            @Argument(help: "Image names as `lab images` lists them (trixie-node).")
            var names: [String]

            @Flag(name: .long, help: "Say what would be removed; remove nothing.")
            var dryRun = false

            @Option(name: .long, help: "text or json.")
            var output: OutputFormat = .text

            func validate() throws {
                guard !names.isEmpty else { throw ValidationError("name at least one image (see `clusterup lab images`)") }
            }

            func run() async throws {
                try ImageCache.requireRoot()
                let names = names, dryRun = dryRun
                let removed = try await Blocking.run("lab-images") { try names.map { try ImageCache().remove($0, dryRun: dryRun) } }
                switch output {
                case .json:
                    print(try encodeImages(removed))
                case .text:
                    for image in removed {
                        print("\(dryRun ? "would remove" : "removed") \(image.name) (\(image.sizeBytes.map(megabytes) ?? "size unknown")) at \(image.path)")
                    }
                }
            }
        }
    }
}

private func encodeImages(_ images: [CachedImage]) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(images), as: UTF8.self)
}

private func megabytes(_ bytes: Int64) -> String { String(format: "%.0f MB", Double(bytes) / 1_000_000) }

private func timestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
