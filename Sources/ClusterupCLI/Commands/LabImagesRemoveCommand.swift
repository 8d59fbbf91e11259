import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabImagesRemoveCommand: AsyncParsableCommand {
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
                print(try LabImagesCommand.encodeImages(removed))
            case .text:
                for image in removed {
                    print(RunMode(dryRun: dryRun).made(.remove, "\(image.name) (\(image.sizeBytes.map(LabImagesCommand.megabytes) ?? "size unknown")) at \(image.path)"))
                }
            }
        }
    }
}
