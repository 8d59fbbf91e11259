import ArgumentParser
import ClusterupCore
import ClusterupLab
import Foundation

extension ClusterupLab.Lab.StopMode: ExpressibleByArgument {}

extension Clusterup.Lab {
    struct Node: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node",
            abstract: "Stop, start or run a command in one lab node.",
            discussion: """
            Examples:
              clusterup lab node stop node2               # clean poweroff
              clusterup lab node stop node2 --mode kill   # as on power loss
              clusterup lab node start node2
              clusterup lab node exec node1 -- ip -br addr  # no SSH, even with link cut
            """,
            subcommands: [Stop.self, Start.self, Exec.self])

        struct Stop: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stop a node (its disk stays; `start` boots it again).")

            @OptionGroup var lab: Clusterup.LabNameOptions
            @Argument(help: "Node name (node1, ...).") var node: String
            @Option(name: .long, help: "poweroff (clean shutdown) or kill (SIGKILL to its init, like a power cut).")
            var mode: ClusterupLab.Lab.StopMode = .poweroff

            func run() async throws {
                try await ClusterupLab.Lab.stopNode(node, lab: lab.name, mode: mode)
                print("\(node) stopped")
            }
        }

        struct Start: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Boot a stopped node and wait until its sshd answers.")

            @OptionGroup var lab: Clusterup.LabNameOptions
            @Argument(help: "Node name (node1, ...).") var node: String

            func run() async throws {
                try await ClusterupLab.Lab.startNode(node, lab: lab.name)
                print("\(node) started")
            }
        }

        struct Exec: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
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
}
