import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension Clusterup {
    struct LabNodeExecCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command inside a running node (through its namespaces, not SSH).")

        @OptionGroup var lab: Clusterup.LabNameOptions
        @Argument(help: "Node name (node1, ...).") var node: String
        @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
        var command: [String]

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. `-- hostname`") }
        }

        func run() async throws {
            let result = try await ClusterupLab.Lab.execute(command, on: node, lab: lab.name)
            FileHandle.standardOutput.write(Data(result.stdout.utf8))
            FileHandle.standardError.write(Data(result.stderr.utf8))
            if result.status != 0 { throw ExitCode(result.status) }
        }
    }
}
