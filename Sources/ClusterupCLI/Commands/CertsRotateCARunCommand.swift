import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupPKI
import ClusterupVerify
import Foundation

extension Clusterup {

    struct CertsRotateCARunCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Run one phase of a CA rotation (the default of rotate-ca).")

        @OptionGroup var inventory: InventoryOptions

        @Option(help: "kubernetes | etcd | front-proxy | all")
        var ca: String?

        @Flag(help: "Rotate the service-account key pair too (the apiserver accepts tokens of the old and the new key in between).")
        var rotateSa = false

        @Option(help: "trust | reissue | finish")
        var phase: String

        @Flag(help: "With --phase reissue of a new rotation: give the re-issued leaves new keys.")
        var rotateKeys = false

        @Flag(help: "Print what the phase would change on each host, and change nothing.")
        var dryRun = false

        @Option(help: "Seconds to wait for a restarted service to become healthy.")
        var healthTimeout: Int = 90

        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let phase = RotationPhase(rawValue: phase) else {
                throw ClusterupError.badInput("unknown phase '\(phase)'", at: "--phase", hint: "use trust, reissue or finish")
            }
            let authorities = try ca.map(CARotationPlanner.authorities) ?? []
            let loaded = try inventory.loadWhole("a CA rotation covers the whole inventory")
            let generator = try PKIGenerator(request: PKIRequest(inventory: loaded))
            let saved = try RotationState.load(from: generator.directory)
            let plan = try CARotationPlanner.plan(phase: phase, authorities: authorities, serviceAccount: rotateSa, rotateKeys: rotateKeys, state: saved,
                                                  pki: generator.plan, hosts: loaded.hosts.map(\.name))
            var fields: [(String, JSONValue)] = [
                ("phase", .string(phase.rawValue)), ("cas", .array(plan.authorities.map { .string($0.rawValue) })),
                ("service_account", .bool(plan.serviceAccount)),
                ("bundle", .string(plan.bundle.rawValue)), ("dry_run", .bool(dryRun)),
                ("local", .array(plan.local.map(JSONValue.string))),
                ("hosts", .array(describeHosts(plan, generator: generator, loaded: loaded))),
            ]
            var lines = ["rotate-ca \(plan.state.subjects), phase \(phase.rawValue) (trust bundle: \(plan.bundle.rawValue))"]
            lines += plan.local.map { "  local: \($0)" }
            lines += plan.hosts.map { host in
                let placement = PKIFilePlacement.placements(of: Set(host.files), plan: generator.plan, hosts: loaded.hosts.filter { $0.name == host.host }).first
                return "  \(host.host): " + (placement?.files.map(\.remote).joined(separator: ", ") ?? "-")
                    + "; restart " + (placement.map { $0.restarts.isEmpty ? "nothing" : $0.restarts.joined(separator: ", ") } ?? "nothing")
            }
            func emit() {
                if output.isJSON { print(JSONValue.object(fields).pretty) } else { print(lines.joined(separator: "\n")) }
            }
            if plan.changesNothing {
                lines.append("nothing to do: phase \(phase.rawValue) is complete on every host")
                return emit()
            }
            if dryRun {
                lines.append("dry run: nothing changed")
                return emit()
            }
            if !output.isJSON { print(lines.joined(separator: "\n")) }
            lines = []

            let connector = try ssh.connector(for: loaded)
            // Deploy's lock, on every host, before anything changes here or there: a deploy or an
            // upgrade would install the PKI directory's files mid-phase (and vice versa).
            try await OperationLock.holding(loaded.hosts, sessions: HostSessions(connector: connector), operation: "certs rotate-ca",
                                            refusedState: CertsRenewCommand.refusedByLock, note: PKIRollout.progressLines(json: output.isJSON)) {
                let runFanOut = fanOut.fanOut(clock: .continuous)
                let before = await verifyChecks(loaded, hosts: loaded.hosts, connector: connector, fanOut: runFanOut)
                let failing = before.filter { !$0.ok }
                guard failing.isEmpty else {
                    throw ClusterupError.remote(
                        "verify fails before the phase, so it does not start: " + failing.map { "\($0.host ?? "cluster") \($0.check): \($0.detail)" }.joined(separator: "; "),
                        hint: "fix the cluster first (clusterup verify); nothing was changed")
                }

                var state = plan.state
                try state.save(to: generator.directory)
                var written: [String] = []
                if !plan.local.isEmpty {
                    written = try generator.prepareRotation(phase, authorities: plan.authorities, serviceAccount: plan.serviceAccount,
                                                            rotateKeys: state.rotateKeys, now: Date())
                    state.prepared = phase
                    try state.save(to: generator.directory)
                    PKIRollout.progressLines(json: output.isJSON)("local: wrote \(written.count) file(s) in \(generator.directory.root)")
                }
                let changed = Set(plan.hosts.flatMap(\.files))
                let recorded = Locked(state)
                let directory = generator.directory
                let rollout: PKIRollout.Outcome
                do {
                    rollout = try await PKIRollout(inventory: loaded, connector: connector, healthTimeout: .seconds(healthTimeout),
                                                   progress: PKIRollout.progressLines(json: output.isJSON))
                        .run(changed: changed, plan: generator.plan, directory: directory, onlyHosts: Set(plan.hosts.map(\.host))) { host in
                            // Recorded as each host completes, so a re-run resumes after the last one done.
                            try recorded.withLock { state in
                                state.hosts[host] = phase
                                try state.save(to: directory)
                            }
                        }
                } catch {
                    let done = recorded.withLock { state in plan.hosts.map(\.host).filter { state.hosts[$0] == phase } }
                    throw ClusterupError.remote(
                        "phase \(phase.rawValue) stopped: \(explain(error))",
                        hint: "the local PKI is at phase \(phase.rawValue); done: \(done.isEmpty ? "no host" : done.joined(separator: ", ")) (\(RotationState.fileName)); re-run the same command to resume on the others")
                }
                state = recorded.withLock { $0 }

                let after = await verifyChecks(loaded, hosts: loaded.hosts, connector: connector, fanOut: runFanOut)
                let failed = after.filter { !$0.ok }
                fields += [
                    ("written", .array(written.map(JSONValue.string))),
                    ("restarted", .array(rollout.restarted.map(JSONValue.string))),
                    ("verify", .object([("ok", .bool(failed.isEmpty)), ("checks", .array(after.map(\.json)))])),
                    ("state", .object(plan.hosts.map { ($0.host, JSONValue.string(phase.rawValue)) })),
                ]
                if let availability = rollout.availability {
                    fields.append(("availability", availability.summaryJSON))
                    lines.append("through the VIP:")
                    lines += availability.lines.map { "  \($0)" }
                }
                lines.append("restarted: " + (rollout.restarted.isEmpty ? "nothing" : rollout.restarted.joined(separator: "; ")))
                lines.append(failed.isEmpty
                    ? "verify: all \(after.count) checks passed; phase \(phase.rawValue) is complete on every host"
                        + (phase.next.map { ", next: --phase \($0.rawValue)" } ?? ", the rotation is over")
                    : "verify: \(failed.count) check(s) failed: " + failed.map { "\($0.host ?? "cluster") \($0.check): \($0.detail)" }.joined(separator: "; "))
                fields.insert(("ok", .bool(failed.isEmpty)), at: 0)
                emit()
                if !failed.isEmpty { throw ExitCode(1) }
            }
        }

        func describeHosts(_ plan: RotationPhasePlan, generator: PKIGenerator, loaded: Inventory) -> [JSONValue] {
            plan.hosts.map { host in
                let placement = PKIFilePlacement.placements(of: Set(host.files), plan: generator.plan, hosts: loaded.hosts.filter { $0.name == host.host }).first
                return .object([("host", .string(host.host)),
                                ("files", .array((placement?.files ?? []).map { .string($0.remote) })),
                                ("restarts", .array((placement?.restarts ?? []).map(JSONValue.string)))])
            }
        }
    }
}

extension RotationPhase {
    var next: RotationPhase? {
        let index = Self.allCases.firstIndex(of: self)!
        return index + 1 < Self.allCases.count ? Self.allCases[index + 1] : nil
    }
}
