import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupPKI
import ClusterupVerify
import Foundation

extension Clusterup {
    struct CertsRenewCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "renew",
            abstract: "Re-issue certificates from the same CA, keeping subject, SANs and (by default) keys.",
            discussion: """
            Names are those of `certs check-expiration`: a kind renews it on every node (apiserver, \
            etcd-peer, admin.conf...), NAME@NODE one copy, `all` every leaf. CAs are not renewed here \
            (see `certs rotate-ca`). --expiring renews exactly the leaves that expire within \
            pki.renew_before: the command for a timer on the machine holding the CA keys.

            The new files are local until deployed. --deploy installs exactly the renewed files on the \
            hosts that hold them; servers that reload their own certificate (etcd's server and peer pairs, \
            kube-apiserver's serving pair) keep running, the readers of other files (apiserver client \
            certificates, kubeconfigs) restart one host at a time, each apiserver drained on every HAProxy \
            meanwhile, with probes through the VIP reported. It then reads what every server presents and \
            fails unless it is the installed certificate (verify's served-certificates check), naming the \
            endpoints whose served serial changed. With --deploy the renewal and the rollout run under \
            deploy's lock: refused (exit 1, nothing renewed) while a deploy, an upgrade or another \
            certificate operation holds it. `clusterup deploy` after a plain renew installs the same \
            files (restarting the same services one host at a time, without the drain).

            Examples:
              clusterup certs renew all
              clusterup certs renew inventory.yml apiserver etcd-server@node2 --rotate-keys
              clusterup certs renew inventory.yml --expiring --deploy
            """
        )

        @Argument(help: "[INVENTORY] then all | NAME...; a first argument ending in .yml/.yaml or naming a file is the inventory.")
        var arguments: [String] = []

        @Flag(help: "Renew exactly the leaves that have expired or expire within pki.renew_before.")
        var expiring = false

        @Flag(help: "Give the renewed certificates new keys.")
        var rotateKeys = false

        @Flag(help: "Install the renewed files on the nodes (deploy), then check what every server presents.")
        var deploy = false

        @Flag(help: "Print what would be renewed, and write nothing (with --deploy: deploy nothing).")
        var dryRun = false

        @Option(help: "With --deploy: seconds to wait for a restarted service to become healthy.")
        var healthTimeout: Int = 90

        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        func split() -> (inventory: String?, names: [String]) {
            guard let first = arguments.first else { return (nil, []) }
            let isInventory = first.hasSuffix(".yml") || first.hasSuffix(".yaml") || FileManager.default.fileExists(atPath: first)
            return isInventory ? (first, Array(arguments.dropFirst())) : (nil, arguments)
        }

        func run() async throws {
            let (inventory, names) = split()
            if expiring && !names.isEmpty {
                throw ClusterupError.badInput("--expiring chooses the certificates itself; names were given too (\(names.joined(separator: " ")))",
                                              at: "certs renew", hint: "drop the names, or drop --expiring")
            }
            guard expiring || !names.isEmpty else {
                throw ClusterupError.badInput("certs renew needs to know what to renew", at: "certs renew",
                                              hint: "name all, a kind such as apiserver, or NAME@NODE (see certs check-expiration), or pass --expiring")
            }
            let generator = try loadPKIGenerator(inventory: inventory)
            let now = Date()
            var renew = Set(names)
            var only: Set<String>?
            if expiring {
                renew = Set(try generator.expiring(now: now))
                only = renew
            }
            // With --deploy the renewal itself runs under deploy's lock: refused, nothing changes
            // here either (no renewed file waiting to be installed by someone else's deploy).
            guard deploy && !dryRun && !renew.isEmpty else {
                return try await renewAndReport(inventory: inventory, generator: generator, renew: renew, only: only, now: now)
            }
            let loaded = try InventoryLoader().loadLocated(inventory)
            try await OperationLock.holding(loaded.hosts, sessions: HostSessions(connector: try ssh.connector(for: loaded)),
                                            operation: "certs renew --deploy", refusedState: Self.refusedByLock,
                                            note: PKIRollout.progressLines(json: output.isJSON)) {
                try await renewAndReport(inventory: inventory, generator: generator, renew: renew, only: only, now: now)
            }
        }

        /// What a refusal by the deploy lock tells (`certs renew --deploy`, `certs rotate-ca`).
        static let refusedByLock = """
            Nothing was changed, here or on the nodes. Wait for the deploy, upgrade or certificate operation that holds the lock to finish, then re-run. \
            A lock whose clusterup process on this machine is gone is taken over at once; one taken from another machine once it has not been refreshed \
            for \(Int(DeployOptions.defaultStaleLockAfter.components.seconds))s; or remove \(DeployLock.directory) on the host.
            """

        func renewAndReport(inventory: String?, generator: PKIGenerator, renew: Set<String>, only: Set<String>?, now: Date) async throws {
            let report = renew.isEmpty
                ? PKIRunReport()
                : try generator.run(now: now, renew: renew, rotateKeys: rotateKeys, only: only, dryRun: dryRun)
            printWarnings(report.warnings)
            var text = renew.isEmpty
                ? "nothing expires within pki.renew_before (\(Int(generator.plan.renewBefore / 86_400))d)\n"
                : describe(report, directory: generator.directory.root, dryRun: dryRun)
            var fields: [(String, JSONValue)] = [
                ("dry_run", .bool(dryRun)),
                ("renewed", .array(report.issued.map { JSONValue.string($0.name) })),
                ("written", .array(report.written.map(JSONValue.string))),
            ]
            defer {
                if output.isJSON { print(JSONValue.object(fields).pretty) } else { print(text, terminator: "") }
            }
            guard deploy else { return }
            if dryRun {
                text += "--dry-run: nothing renewed, so nothing deployed\n"
                return
            }
            if report.written.isEmpty {
                text += "nothing renewed, nothing to deploy\n"
                return
            }
            // Unbuffered, like deploy's lines that follow.
            if !output.isJSON { FileHandle.standardOutput.write(Data(text.utf8)) }
            text = ""
            let outcome = try await deployRenewed(inventory: inventory, written: report.written, generator: generator)
            let rollout = outcome.rollout
            fields += [
                ("installed", .array(rollout.placements.map { placement in
                    .object([("host", .string(placement.host)), ("files", .array(placement.files.map { .string($0.remote) })),
                             ("restarts", .array(placement.restarts.map(JSONValue.string)))])
                })),
                ("restarted", .array(rollout.restarted.map(JSONValue.string))),
                ("served_changed", .array(outcome.changed.map(JSONValue.string))),
                ("checks", .array(outcome.results.map(\.json))),
            ]
            if let availability = rollout.availability {
                fields.append(("availability", availability.summaryJSON))
            }
            let failed = outcome.results.filter { !$0.ok }
            text += "restarted: " + (rollout.restarted.isEmpty ? "nothing (every renewed file is reloaded by its server)" : rollout.restarted.joined(separator: "; ")) + "\n"
            if let availability = rollout.availability {
                text += "through the VIP during the restarts:\n" + availability.lines.map { "  \($0)\n" }.joined()
            }
            text += "served serial changed on: " + (outcome.changed.isEmpty ? "no endpoint" : outcome.changed.joined(separator: ", ")) + "\n"
            for result in outcome.results {
                text += "\(result.host ?? "(cluster)"): \(result.ok ? "ok" : "FAIL") \(result.detail)\n"
            }
            fields.insert(("ok", .bool(failed.isEmpty)), at: 0)
            if !failed.isEmpty {
                text += "the renewed files are installed, but \(failed.count) server(s) do not present them; re-run with the same names (or `clusterup deploy`) after fixing the cause\n"
                throw ExitCode(1)
            }
        }

        /// Installs the renewed files and restarts what does not reload them (PKIRollout), with the
        /// served certificates read before and after: which endpoints changed, and the served-certificates check.
        func deployRenewed(inventory: String?, written: [String], generator: PKIGenerator)
            async throws -> (changed: [String], results: [CheckResult], rollout: PKIRollout.Outcome) {
            let loaded = try InventoryLoader().loadLocated(inventory)
            let connector = try ssh.connector(for: loaded)
            let endpoints = ServedEndpoints.plan(loaded, hosts: loaded.hosts)
            let client = etcdClientCredential(loaded)
            let before = await ServedCertificateReader.readAll(endpoints, client: client)
            let rollout = try await PKIRollout(
                inventory: loaded, connector: connector, healthTimeout: .seconds(healthTimeout),
                progress: PKIRollout.progressLines(json: output.isJSON)
            ).run(changed: Set(written), plan: generator.plan, directory: generator.directory)
            let surveys = await ClusterSurvey.run(loaded.hosts, inventory: loaded, connector: connector,
                                                  fanOut: fanOut.fanOut(clock: .continuous))
            let (results, after) = await servedCertificateResults(loaded, hosts: loaded.hosts, surveys: surveys)
            // Through the VIP any backend may answer, so only the hosts' own endpoints are compared.
            let changed = endpoints.filter { $0.host != nil }.filter { endpoint in
                guard let old = try? before[endpoint]?.get(), let new = try? after[endpoint]?.get() else { return false }
                return old.serial != new.serial
            }.map { "\($0.host!) \($0.kind.rawValue)" }
            return (changed, results, rollout)
        }
    }
}
