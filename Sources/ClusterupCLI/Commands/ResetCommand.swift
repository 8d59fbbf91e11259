import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupSSH
import Foundation

extension Clusterup {
    /// `clusterup reset [INVENTORY]`: undoes deploy on every host.
    struct ResetCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            abstract: "Remove what deploy installed from every host (asks first unless --yes).",
            discussion: """
            On every host: stops and disables the services deploy manages (clusterup-vrrpd or keepalived, haproxy, etcd, kube-apiserver, kube-controller-manager, kube-scheduler), removes their unit files and drop-ins, /etc/clusterup, /etc/kubernetes (certificates and kubeconfigs), the sysctl file, the HAProxy/keepalived configuration deploy wrote, and the programs deploy uploaded (artifacts from url or file, clusterup-vrrpd). Distribution packages stay installed.

            The host holding the VIP hands it over first: its VRRP daemon stops (the backup takes the VIP at once) with IPv4 forwarding on for a few seconds, so what clients still send it reaches the new holder; a running kube-apiserver refuses new connections (TCP reset: HAProxy sends them to another apiserver) and stops once its open ones ended; then the rest stops. To retire one node of a running cluster, reset it with an inventory naming only it, then deploy without it.

            The etcd data directory is MOVED ASIDE to <data dir>.reset-<time> (every key of the cluster is in it; move it back to undo), or deleted with --delete-etcd-data. Kept: etcd backups on the nodes (/var/lib/clusterup/etcd-backups) and the local PKI, so a following deploy reuses the same certificates.

            Refused on a host where a deploy holds the lock. Without --yes, asks on the terminal; without a terminal and without --yes it refuses. A following `clusterup deploy` starts from bare nodes.

            Examples:
              clusterup reset lab.yml
              clusterup reset --yes --output json
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Do not ask for confirmation.")
        var yes = false

        @Flag(help: "Delete the etcd data directory instead of moving it aside (the cluster's data is lost).")
        var deleteEtcdData = false

        func run() async throws {
            let (loaded, hosts) = try inventory.loadSelection()
            if !yes {
                try await Confirmation.ask(
                    "This stops and removes clusterup's services, configuration and certificates on \(hosts.count) host(s) (\(hosts.map(\.name).joined(separator: ", "))) of cluster '\(loaded.cluster)'; the etcd data is \(deleteEtcdData ? "DELETED" : "moved aside").",
                    typing: loaded.cluster)
            }
            let plan = ResetPlan.plan(inventory: loaded, settings: loaded.deploy, etcdData: deleteEtcdData ? .delete : .moveAside)
            let sessions = HostSessions(connector: try ssh.connector(for: loaded), concurrency: fanOut.concurrency)
            let results = await Reset.run(plan, hosts: hosts, sessions: sessions)
            var failed = 0
            var objects: [JSONValue] = []
            var text = ""
            for result in results {
                switch result.outcome {
                case .success(let outcome):
                    objects.append(.object([
                        ("host", .string(result.host)), ("ok", .bool(true)), ("stopped", .strings(outcome.stopped)), ("disabled", .strings(outcome.disabled)),
                        ("removed", .strings(outcome.removed)),
                        ("moved", .array(outcome.moved.map { .object([("from", .string($0.0)), ("to", .string($0.1))]) })),
                        ("kept", .strings(outcome.kept)),
                        ("handed_over_vip", JSONValue.optional(outcome.handedOver)),
                        ("forwarded_during_handover", .bool(outcome.forwardedDuringHandover)),
                        ("apiserver_refused_new_connections", .bool(outcome.refusedNewAPIServerConnections)),
                    ]))
                    text += "\(result.host):\n"
                    if outcome.isNothing { text += "  nothing to remove (already bare)\n" }
                    if let vip = outcome.handedOver {
                        text += "  handed over the VIP \(vip) before stopping anything else"
                            + (outcome.forwardedDuringHandover ? " (forwarding what still reached this host)\n" : "\n")
                    }
                    if outcome.refusedNewAPIServerConnections {
                        text += "  kube-apiserver refused new connections (HAProxy sends them elsewhere) and its open ones ended before it stopped\n"
                    }
                    for unit in outcome.stopped { text += "  stopped \(unit)\n" }
                    for unit in outcome.disabled { text += "  disabled \(unit)\n" }
                    for path in outcome.removed { text += "  removed \(path)\n" }
                    for (from, to) in outcome.moved { text += "  moved etcd data \(from) -> \(to) (move it back to undo)\n" }
                    for kept in outcome.kept { text += "  kept \(kept)\n" }
                case .failure(let error):
                    failed += 1
                    objects.append(.object([("host", .string(result.host)), ("ok", .bool(false)), ("error", .string(explain(error)))]))
                    text += "\(result.host): FAILED: \(explain(error))\n"
                }
            }
            if output.isJSON {
                print(JSONValue.array(objects).pretty)
            } else {
                print(text, terminator: "")
                print(failed == 0 ? "reset: \(results.count) host(s) reset; the local PKI is kept; `clusterup deploy` starts from scratch"
                                  : "reset: \(failed) of \(results.count) host(s) failed (see above); the others are reset. Re-run reset to finish.")
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

/// Asks before destructive commands; refuses when nobody can answer.
enum Confirmation {
    static func ask(_ what: String, typing expected: String) async throws {
        guard isatty(STDIN_FILENO) == 1 else {
            throw ClusterupError.badInput(
                "refusing without confirmation: stdin is not a terminal", at: "--yes",
                hint: "pass --yes to confirm non-interactively")
        }
        printError(what)
        FileHandle.standardError.write(Data("Type the cluster name '\(expected)' to continue: ".utf8))
        // Waiting for the operator blocks: not on the cooperative pool.
        let answer = try await DedicatedThread.run(name: "confirm") { readLine() }
        guard let answer, answer.trimmingCharacters(in: .whitespaces) == expected else {
            throw ClusterupError.badInput("not confirmed; nothing was changed", at: "confirmation")
        }
    }
}
