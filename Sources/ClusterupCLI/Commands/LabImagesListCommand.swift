import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabImagesListCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "The cached images with release, size, build date and the mounts using them.")

        @Option(name: .long, help: "text or json.")
        var output: OutputFormat = .text

        func run() async throws {
            let images = try await Blocking.run("lab-images") { ImageCache().list() }
            switch output {
            case .json:
                print(try LabImagesCommand.encodeImages(images))
            case .text:
                guard !images.isEmpty else {
                    print("no images in \(ImageCache().directory)")
                    return
                }
                let rows = images.map { image in
                    [image.name, image.release ?? "-", image.purpose, image.sizeBytes.map(LabImagesCommand.megabytes) ?? "-",
                     image.complete ? image.builtAt.map(LabImagesCommand.timestamp) ?? "-" : "unfinished",
                     image.usedBy.isEmpty ? "-" : "\(image.usedBy.count) mount(s)"]
                }
                print(TextTable.render(header: ["IMAGE", "RELEASE", "FOR", "SIZE", "BUILT", "IN USE"], rows: rows))
            }
        }
    }
}
