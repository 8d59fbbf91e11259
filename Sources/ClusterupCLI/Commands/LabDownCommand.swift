import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabDownCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "down",
            abstract: "Remove a lab: its nodes, mounts, links and files (also after a crash of `lab up`).",
            discussion: """
            Uses the lab's recorded state, then scans for anything of the lab by name (its bridge, veths, mounts under its directory, its nspawn processes). Exits 1 if something remains.

            Examples:
              clusterup lab down
              clusterup lab down --name vrrp
            """)

        @OptionGroup var lab: Clusterup.LabNameOptions

        func run() async throws {
            let started = Date()
            let report = try await ClusterupLab.Lab.down(name: lab.name, progress: labProgress)
            print("stopped nodes: \(report.stoppedNodes.isEmpty ? "none" : report.stoppedNodes.joined(separator: ", "))")
            if !report.strayProcesses.isEmpty {
                print("killed unrecorded processes: \(report.strayProcesses.map(String.init).joined(separator: ", "))")
            }
            print("unmounted: \(report.unmounted.count), links removed: \(report.removedLinks.joined(separator: ", "))")
            guard report.remaining.isEmpty else {
                throw ClusterupError.local(
                    "lab \(lab.name) is partly removed; still there: \(report.remaining.joined(separator: "; "))",
                    hint: "run `clusterup lab down --name \(lab.name)` again once those are free")
            }
            labProgress(String(format: "lab %@ removed in %.1f s", lab.name, Date().timeIntervalSince(started)))
        }
    }
}
