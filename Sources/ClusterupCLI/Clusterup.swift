import ArgumentParser
import ClusterupDeploy
import ClusterupCore
import Foundation

/// The root command. Subcommands live one per file under Commands/.
public struct Clusterup: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "clusterup",
        abstract: "Bring up a highly available Kubernetes control plane on your own Linux machines.",
        discussion: """
        clusterup reads an inventory (YAML) and drives the nodes over SSH: a VRRP virtual IP, HAProxy, a PKI, a TLS etcd cluster and the control plane. The inventory argument is optional everywhere: it defaults to $CLUSTERUP_INVENTORY, then ./inventory.yml.

        Examples:
          clusterup init                      # write a starter inventory.yml
          clusterup inventory check           # validate it and print the hosts
          clusterup check                     # are the hosts ready?
          clusterup deploy --dry-run          # what would change
          clusterup deploy                    # converge every host
          clusterup lab up --nodes 3          # three local nodes to try it on (root)
        """,
        version: "clusterup " + ClusterupBuild.current.description,
        subcommands: allSubcommands
    )

    public init() {}

    /// Runs the command line and turns every error into its exit code in one place.
    public static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ClusterupError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let failure as DeployFailure {
            // Deploy's own report (host, phase, state), and its exit code, for the operations
            // that share its phases or its lock.
            FileHandle.standardError.write(Data("\(failure)\n".utf8))
            Foundation.exit(1)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            // A bad flag or argument is bad input too: exit 2, as for a bad inventory.
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
