import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabStatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show a lab's nodes: address, running or not, link, pids.",
            discussion: """
            Examples:
              clusterup lab status
              clusterup lab status --name vrrp --output json
            """)

        @OptionGroup var lab: Clusterup.LabNameOptions

        @Option(name: .long, help: "text or json.")
        var output: OutputFormat = .text

        func run() async throws {
            let status = try ClusterupLab.Lab.status(name: lab.name)
            switch output {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(status), as: UTF8.self))
            case .text:
                print("lab \(status.name) (\(status.phase)): bridge \(status.bridge) \(status.network), host \(status.hostAddress), VIP \(status.vip)")
                print("inventory: \(status.inventory)")
                let header = ["NODE", "ADDRESS", "MACHINE", "RELEASE", "STATE", "LINK", "NSPAWN", "INIT"]
                let rows = status.nodes.map { node in
                    [node.name, node.address, node.machine, node.release ?? "-", node.running ? "up" : "down", node.link,
                     node.nspawnPID.map(String.init) ?? "-", node.initPID.map(String.init) ?? "-"]
                }
                print(table([header] + rows))
            }
        }
    }
}

/// `lab up` and `lab grow`'s line per node: name, address, machine, release.
func nodeLine(_ node: LabNode) -> String {
    "\(node.name)\t\(node.address)\tmachine \(node.machine)\t\(node.release.map { "debian \($0.version) (\($0.rawValue))" } ?? "")"
}

/// Left-aligned columns separated by two spaces.
func table(_ rows: [[String]]) -> String {
    let widths = rows.reduce(into: [Int]()) { widths, row in
        for (column, cell) in row.enumerated() {
            if column < widths.count { widths[column] = max(widths[column], cell.count) } else { widths.append(cell.count) }
        }
    }
    return rows.map { row in
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
