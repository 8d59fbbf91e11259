import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    /// `clusterup lab images`: the cached Debian roots that nodes of other releases boot from.
    struct LabImagesCommand: AsyncParsableCommand {
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
            subcommands: [LabImagesListCommand.self, LabImagesBuildCommand.self, LabImagesRemoveCommand.self],
            defaultSubcommand: LabImagesListCommand.self)
    }
}

extension Clusterup.LabImagesCommand {
    static func encodeImages(_ images: [CachedImage]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(images), as: UTF8.self)
    }

    static func megabytes(_ bytes: Int64) -> String { String(format: "%.0f MB", Double(bytes) / 1_000_000) }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
