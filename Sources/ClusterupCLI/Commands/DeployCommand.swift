import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupRollout
import ClusterupSSH
import Foundation

extension Clusterup {
    /// `clusterup deploy [INVENTORY]`: bare nodes to an HA control plane, idempotently.
    struct DeployCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Deploy (or converge) the VIP, HAProxy, PKI, etcd and control plane.",
            discussion: """
            Phases: connect → preflight → lock → versions → artifacts → pki → plan → write files → etcd → control plane → load balancer → record version → post-deploy checks. Each host gets only what its roles need; a re-run with an unchanged inventory changes nothing and says so; a version change (a declared version a host does not run) is refused and left to `clusterup upgrade`; a changed setting changes only what depends on it, restarting affected services one host at a time (etcd and apiservers stay available: a running apiserver is drained from every HAProxy before its restart and taken back once ready). Each host changed gets /etc/clusterup/last-deploy: which clusterup changed it, when and who ran it (`status` shows it). --dry-run prints per host what would change (file diffs, services to restart, etcd membership changes) and changes nothing.

            A second deploy while one runs is refused, naming who holds the lock. On failure the report names host, phase, command and its stderr; re-running resumes. Ctrl-C stops after the current step and releases the lock.

            Examples:
              clusterup deploy                         # ./inventory.yml
              clusterup deploy lab.yml --dry-run
              clusterup deploy --output json | jq .changes
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Show what would change on each host and change nothing.")
        var dryRun = false

        @Flag(help: ArgumentHelp(
            "Deploy the hosts that answer and leave out those that cannot be reached.",
            discussion: "Without it, an unreachable host stops deploy before anything changes. With it, nothing on those hosts is changed and nothing that needs them is done (no etcd member is added for them; a new etcd cluster is not started without them); they still count in the other hosts' configuration."))
        var skipUnreachable = false

        @Option(help: "Seconds to wait for a service to become healthy after (re)starting it.")
        var healthTimeout: Int = 90

        @Option(help: ArgumentHelp(
            "The clusterup-vrrpd binary to install on lb hosts (statically linked).",
            discussion: "Default: artifacts.clusterup-vrrpd in the inventory, $CLUSTERUP_VRRPD, or clusterup-vrrpd beside this program."))
        var vrrpdBinary: String?

        func run() async throws {
            let loaded = try inventory.loadWhole("deploy works on the whole inventory")
            try await Self.deploy(loaded, ssh: ssh, output: output, concurrency: fanOut.concurrency, dryRun: dryRun,
                                  healthTimeout: healthTimeout, vrrpdBinary: vrrpdBinary, skipUnreachable: skipUnreachable)
        }

        /// A whole deploy as the command runs it; `etcd recover` runs it too, to re-add members.
        static func deploy(
            _ loaded: Inventory, ssh: SSHOptions, output: OutputOptions, concurrency: Int, dryRun: Bool, healthTimeout: Int, vrrpdBinary: String?,
            skipUnreachable: Bool = false, jsonSink: (@Sendable (JSONValue) -> Void)? = nil
        ) async throws {
            var settings = loaded.deploy
            let vrrpdNote = try VRRPDaemonBinary.defaultArtifact(into: &settings, inventory: loaded, explicit: vrrpdBinary)
                .map { "clusterup-vrrpd: \($0.path) (sha256 \($0.sha256))" }
            var options = DeployOptions(cacheDirectory: Self.cacheDirectory())
            options.dryRun = dryRun
            options.build = .current
            options.concurrency = concurrency
            options.acceptNewHostKeys = ssh.acceptNewHostKeys
            options.healthTimeout = .seconds(healthTimeout)
            options.skipUnreachable = skipUnreachable
            // Running apiservers restart drained from every HAProxy (the rollout's BackendDrain).
            options.apiserverRestartGuard = DrainedRestarts(socat: settings.artifact("socat")?.path ?? "socat")
            let renderer = DeployRenderer(json: output.isJSON, live: output.progressMode, jsonSink: jsonSink)
            let session = DeploySession(
                inventory: loaded, settings: settings, options: options, connector: try ssh.connector(for: loaded),
                emit: renderer.handle)

            if let vrrpdNote { renderer.handle(.note(host: nil, vrrpdNote)) }
            let task = Task { try await Deploy.run(session) }
            let interrupt = InterruptHandler { task.cancel() }
            defer { interrupt.remove() }
            do {
                let report = try await task.value
                renderer.finish(report: report, dryRun: dryRun, error: nil)
            } catch let failure as DeployFailure {
                renderer.finish(report: nil, dryRun: dryRun, error: failure.description)
                throw ExitCode(failure.exitCode)
            } catch is CancellationError {
                renderer.finish(report: nil, dryRun: dryRun, error: "interrupted: the current step finished on every host and the deploy lock was released; re-run deploy to continue")
                throw ExitCode(130)
            }
        }

        static func cacheDirectory() -> String {
            let env = ProcessInfo.processInfo.environment
            let base = env["XDG_CACHE_HOME"] ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.cache")
            return base + "/clusterup/artifacts"
        }
    }
}
