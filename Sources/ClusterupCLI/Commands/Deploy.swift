import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup deploy [INVENTORY]`: bare nodes to an HA control plane, idempotently.
    struct DeployCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Deploy (or converge) the VIP, HAProxy, PKI, etcd and control plane.",
            discussion: """
            Phases: connect → preflight → lock → artifacts → pki → plan → write files → etcd → control plane → load balancer → post-deploy checks. Each host gets only what its roles need; a re-run with an unchanged inventory changes nothing and says so; a changed setting changes only what depends on it, restarting affected services one host at a time (etcd and apiservers stay available). --dry-run prints per host what would change (file diffs, services to restart, etcd membership changes) and changes nothing.

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

        @Option(help: "Seconds to wait for a service to become healthy after (re)starting it.")
        var healthTimeout: Int = 90

        @Option(help: ArgumentHelp(
            "The clusterup-vrrpd binary to install on lb hosts (statically linked).",
            discussion: "Default: artifacts.clusterup-vrrpd in the inventory, $CLUSTERUP_VRRPD, or clusterup-vrrpd beside this program."))
        var vrrpdBinary: String?

        func run() async throws {
            let loaded = try inventory.load()
            if !inventory.hostNames.isEmpty || !inventory.roleNames.isEmpty {
                throw ValidationError("deploy works on the whole inventory; --hosts and --roles are for exec and check")
            }
            var settings = loaded.deploy
            if settings.artifacts["clusterup-vrrpd"] == nil, !loaded.hosts(withRole: .lb).isEmpty,
               loaded.vrrp?.backend != .keepalived {
                let path = try VRRPDaemonBinary.locate(explicit: vrrpdBinary)
                settings.artifacts["clusterup-vrrpd"] = Artifact(
                    name: "clusterup-vrrpd", source: .file(path, sha256: nil), path: "/usr/local/bin/clusterup-vrrpd")
            }
            var options = DeployOptions(cacheDirectory: Self.cacheDirectory())
            options.dryRun = dryRun
            options.concurrency = fanOut.concurrency
            options.acceptNewHostKeys = ssh.acceptNewHostKeys
            options.healthTimeout = .seconds(healthTimeout)
            let renderer = DeployRenderer(json: output.isJSON, live: output.progressMode)
            let session = DeploySession(
                inventory: loaded, settings: settings, options: options, connector: try ssh.connector(for: loaded),
                emit: renderer.handle)

            let task = Task { try await Deploy.run(session) }
            let interrupt = InterruptHandler { task.cancel() }
            defer { interrupt.remove() }
            do {
                let report = try await task.value
                renderer.finish(report: report, dryRun: dryRun, error: nil)
            } catch let failure as DeployFailure {
                renderer.finish(report: nil, dryRun: dryRun, error: failure.description)
                throw ExitCode(1)
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

/// Finds the clusterup-vrrpd to upload, refusing one that needs the Swift runtime (nodes have none).
enum VRRPDaemonBinary {
    static func locate(explicit: String?) throws -> String {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let env = ProcessInfo.processInfo.environment["CLUSTERUP_VRRPD"] { candidates.append(env) }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // scripts/build-vrrpd's fully static build first, then the one beside this program.
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("dist/clusterup-vrrpd").path)
        candidates.append(exe.appendingPathComponent("clusterup-vrrpd").path)
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("release/clusterup-vrrpd").path)
        var dynamic: [String] = []
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            if isStatic(path) { return path }
            dynamic.append(path)
            if path == explicit { break }
        }
        throw ClusterupError.badInput(
            dynamic.isEmpty ? "no clusterup-vrrpd binary found (looked at \(candidates.joined(separator: ", ")))"
                            : "\(dynamic[0]) links the Swift runtime dynamically; lb nodes have no Swift runtime",
            hint: "build it with scripts/build-vrrpd (writes .build/dist/clusterup-vrrpd), or set vrrp.backend: keepalived")
    }

    /// A binary built with --static-swift-stdlib names no libswiftCore.so among its libraries.
    static func isStatic(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return data.range(of: Data("libswiftCore.so".utf8)) == nil
    }
}

/// Ctrl-C cancels the deploy task instead of killing the process, so the lock is released.
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal

    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            printError("\ninterrupt: finishing the current step, then releasing the lock (Ctrl-C again is ignored)")
            handler()
        }
        source.resume()
    }

    func remove() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
