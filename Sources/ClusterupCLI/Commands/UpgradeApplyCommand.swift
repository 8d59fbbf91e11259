import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupRollout
import ClusterupSSH
import ClusterupVerify
import Foundation
import Timeline

extension Clusterup {
    /// `clusterup upgrade apply [INVENTORY] --yes`: the plan, run one host at a time under probes.
    struct UpgradeApplyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Run the rolling upgrade `upgrade plan` shows, probing the VIP throughout.",
            discussion: """
            Computes the plan from what the hosts run (as `upgrade plan`), takes the deploy lock (a deploy or a second upgrade is refused meanwhile), fetches the new programs as deploy does (sha256 checked), then: an etcd snapshot first when etcd changes (kept with its sha256, as `etcd backup`); etcd members followers first, the leader last after `etcdctl move-leader`, each healthy and caught up before the next; kube-apiserver one host at a time, drained from every HAProxy (runtime API) around its restart and taken back once its /readyz answers; kube-controller-manager and kube-scheduler one host at a time; HAProxy and the VRRP daemon on the VIP backups first, the holder last after handing the VIP over (a VRRP resignation). Each component is installed by deploy's own machinery, restricted to that host and component.

            Unless --no-probe, TCP connects and HTTPS GET /readyz (verified against the cluster CA) go to the VIP for the whole run; the report gives per step the failed probes and the longest gap, and the totals. A failure stops at the failing step, naming host, step, command, stderr and the state the cluster is in; re-running `upgrade apply` recomputes the plan from the hosts and continues (first taking back an apiserver an interrupted run left drained, or starting a VRRP daemon it left stopped). Ctrl-C finishes the turn under way, then stops and releases the lock.

            Examples:
              clusterup upgrade apply --dry-run
              clusterup upgrade apply lab.yml --yes --plot upgrade.svg
              clusterup upgrade apply --yes --output json | jq .availability.steps
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Run the upgrade (without it, nothing changes).")
        var yes = false

        @Flag(help: "Show the turns the upgrade would run, with their guards, and change nothing.")
        var dryRun = false

        @Flag(help: "Do not probe the VIP during the upgrade (no availability report).")
        var noProbe = false

        @Option(help: ArgumentHelp("Write the probes of the whole run as a timeline (SVG), a band per step.", valueName: "file.svg"))
        var plot: String?

        @Flag(help: "Allow going to older versions (never etcd to an older minor version).")
        var allowDowngrade = false

        @Option(help: "Seconds to wait for a component to serve after its restart.")
        var healthTimeout: Int = 90

        @Option(help: ArgumentHelp("The CA the /readyz probe verifies the apiserver against.", discussion: "Default: ca.crt in the inventory's pki.directory."))
        var probeCA: String?

        @Option(help: ArgumentHelp(
            "The clusterup-vrrpd binary deploy would install (its digest is the wanted build).",
            discussion: "Default: artifacts.clusterup-vrrpd in the inventory, $CLUSTERUP_VRRPD, or clusterup-vrrpd beside this program."))
        var vrrpdBinary: String?

        func validate() throws {
            if dryRun && yes { throw ValidationError("--dry-run and --yes contradict each other: choose one") }
            if noProbe && plot != nil { throw ValidationError("--plot draws the probes: it needs probing (drop --no-probe)") }
            if healthTimeout < 1 { throw ValidationError("--health-timeout must be at least 1 second") }
        }

        func run() async throws {
            let loaded = try inventory.loadWhole("an upgrade covers the whole inventory")
            let (plan, facts, settings) = try await UpgradePlanCommand.plan(
                loaded, ssh: ssh, concurrency: fanOut.concurrency, allowDowngrade: allowDowngrade, vrrpdBinary: vrrpdBinary)
            let rollout = UpgradeRollout(plan)
            if plan.isEmpty || dryRun {
                print(output.isJSON ? UpgradeApplyReport.planned(plan, rollout, facts: facts).pretty
                                    : UpgradeApplyReport.plannedText(plan, rollout, facts: facts, dryRun: dryRun),
                      terminator: output.isJSON ? "\n" : "")
                return
            }
            guard yes else {
                throw ClusterupError.badInput(
                    "upgrade apply would change \(Set(rollout.turns.map(\.rolling.host)).count) host(s) in \(rollout.turns.count) turn(s): it runs only with --yes",
                    at: "--yes", hint: "look at `clusterup upgrade apply --dry-run` (or `upgrade plan`), then run it with --yes")
            }
            if let plot { try PlotFile.checkWritable(plot) }
            let caFile = probeCA ?? loaded.pki.directory + "/ca.crt"
            if !noProbe && !FileManager.default.isReadableFile(atPath: caFile) {
                throw ClusterupError.badInput("cannot read the cluster CA \(caFile) for the /readyz probe", at: "--probe-ca",
                                              hint: "run `clusterup certs gen`, pass --probe-ca FILE, or --no-probe")
            }

            var options = DeployOptions(cacheDirectory: DeployCommand.cacheDirectory())
            options.build = .current
            options.concurrency = fanOut.concurrency
            options.acceptNewHostKeys = ssh.acceptNewHostKeys
            options.healthTimeout = .seconds(healthTimeout)
            let renderer = DeployRenderer(json: output.isJSON, live: output.progressMode)
            let session = DeploySession(inventory: loaded, settings: settings, options: options, connector: try ssh.connector(for: loaded),
                                        emit: renderer.handle)
            let installer = UpgradeInstaller(session: session)
            do {
                try await installer.prepare()
            } catch let failure as DeployFailure {
                UpgradeApplyReport.fail(failure.description, json: output.isJSON)
                throw ExitCode(failure.exitCode)
            }
            let quiet = output.isJSON
            let say: @Sendable (String) -> Void = { line in if !quiet { print("    \(line)") } }
            var result = UpgradeApplyReport.Result(turns: rollout.turns.count)
            result.otherChanges = installer.otherChanges(upgrading: rollout.components)

            // The watch runs before the snapshot, so the whole upgrade is measured.
            let watch = noProbe ? nil : AvailabilityWatch(.init(
                target: ProbeTarget(host: loaded.vip?.address ?? "", port: loaded.vip?.port ?? 0), readyz: HTTPSProbe(caFile: caFile)))
            do {
                if let watch {
                    if !output.isJSON { print("==> probing \(watch.probes.joined(separator: " and "))") }
                    try await DedicatedThread.run(name: "clusterup-upgrade-watch") { try watch.start() }
                }
                if let snapshot = rollout.snapshot {
                    if !output.isJSON { print("==> etcd snapshot") }
                    watch?.mark(step: "etcd snapshot", host: snapshot.host)
                    let directory = URL(fileURLWithPath: loaded.path).deletingLastPathComponent().appendingPathComponent("etcd-backups").path
                    let backup = try await EtcdBackup.run(inventory: loaded, settings: settings,
                                                          sessions: HostSessions(connector: session.connector), outputDirectory: directory)
                    watch?.endStep()
                    result.snapshot = backup
                    say("snapshot \(backup.localPath) (sha256 \(backup.sha256)), kept on \(backup.member): \(backup.remotePath)")
                }
                if !output.isJSON { print("==> rolling upgrade: \(rollout.turns.count) turn(s), one host at a time") }
                var run = UpgradeRun(inventory: loaded, installer: installer, rollout: rollout, watch: watch,
                                     healthTimeout: .seconds(healthTimeout), progress: say)
                // Ctrl-C: the turn under way finishes (its guard comes down), then the run stops.
                let cancel = CancelFlag()
                run.cancel = cancel
                let interrupt = InterruptHandler { cancel.raise() }
                defer { interrupt.remove() }
                let running = run
                result.outcomes = try await DedicatedThread.run(name: "clusterup-upgrade") { try running.run() }
            } catch let failure as RolloutFailure {
                result.failure = failure
            } catch {
                result.failure = RolloutFailure(host: "-", step: result.snapshot == nil && rollout.snapshot != nil ? "etcd snapshot" : "start",
                                                error: error, state: "no component was changed by this run")
            }
            result.availability = watch?.finish()
            await installer.finish()
            if let plot, let watch {
                try PlotFile.write(TimelineSVG.render(watch.picture(title: "upgrade apply of \(loaded.cluster)")), to: plot)
            }
            print(output.isJSON ? UpgradeApplyReport.json(result).pretty : UpgradeApplyReport.text(result), terminator: output.isJSON ? "\n" : "")
            if result.failure != nil { throw ExitCode(1) }
        }
    }
}

/// What `upgrade apply` prints: the turns before (dry run) and the outcome after.
enum UpgradeApplyReport {
    struct Result {
        var turns: Int
        var snapshot: EtcdBackup.Result?
        var outcomes: [RollingHosts.Outcome] = []
        var availability: AvailabilityReport?
        var otherChanges: [String] = []
        var failure: RolloutFailure?

        init(turns: Int) { self.turns = turns }
    }

    static func guardText(_ guarding: RolloutGuard) -> String {
        switch guarding {
        case .none: "no guard"
        case .drainAPIServer: "drained from every HAProxy around its restart"
        case .handOverVIP: "the VIP handed over first if it holds it; its VRRP daemon rejoins after"
        case .etcdMember: "etcd leadership moved away first if it leads; healthy and caught up after"
        }
    }

    static func plannedText(_ plan: UpgradePlan, _ rollout: UpgradeRollout, facts: UpgradeFacts, dryRun: Bool) -> String {
        guard !plan.isEmpty else {
            return "nothing to upgrade: every host runs the wanted version of every component the inventory declares a version for\n"
        }
        var out = "etcd leader: \(facts.etcdLeader ?? "unknown"); VIP held by: \(facts.vipHolder ?? "not exactly one lb host")\n"
        if let snapshot = rollout.snapshot { out += "  0. \(snapshot.host): etcd snapshot (sha256 kept)\n" }
        for (index, turn) in rollout.turns.enumerated() {
            out += "  \(index + 1). \(turn.rolling.host): \(turn.rolling.name)\n     guard: \(guardText(turn.rolling.guarding))\n"
        }
        if !plan.notes.isEmpty { out += "notes:\n" + plan.notes.map { "  \($0)\n" }.joined() }
        if dryRun { out += "dry run: nothing was changed; `clusterup upgrade apply --yes` runs these turns\n" }
        return out
    }

    static func planned(_ plan: UpgradePlan, _ rollout: UpgradeRollout, facts: UpgradeFacts) -> JSONValue {
        .object([
            ("nothing_to_upgrade", .bool(plan.isEmpty)),
            ("dry_run", .bool(!plan.isEmpty)),
            ("etcd_leader", .optional(facts.etcdLeader)),
            ("vip_holder", .optional(facts.vipHolder)),
            ("snapshot", .optional(rollout.snapshot?.host)),
            ("turns", .array(rollout.turns.map(turnJSON))),
            ("notes", .strings(plan.notes)),
        ])
    }

    static func turnJSON(_ turn: UpgradeRollout.Turn) -> JSONValue {
        .object([
            ("host", .string(turn.rolling.host)), ("name", .string(turn.rolling.name)), ("guard", .string(turn.rolling.guarding.rawValue)),
            ("installs", .array(turn.installs.map { step in
                .object([("component", .string(step.component.rawValue)), ("action", .string(step.action.rawValue)),
                         ("from", .optional(step.from)), ("to", .optional(step.to))])
            })),
        ])
    }

    static func text(_ result: Result) -> String {
        var out = ""
        if let failure = result.failure {
            out += "error: upgrade apply stopped: \(failure.description)\n"
        } else {
            out += "upgrade applied: \(result.outcomes.count) turn(s) done\n"
        }
        if let availability = result.availability {
            out += "availability through the VIP (\(availability.probes.joined(separator: ", "))):\n"
            out += availability.lines.map { "  \($0)\n" }.joined()
        }
        if !result.otherChanges.isEmpty {
            out += "left to `clusterup deploy` (not part of the upgrade):\n" + result.otherChanges.map { "  \($0)\n" }.joined()
        }
        return out
    }

    static func json(_ result: Result) -> JSONValue {
        .object([
            ("ok", .bool(result.failure == nil)),
            ("turns_done", .int(Int64(result.outcomes.count))),
            ("turns", .int(Int64(result.turns))),
            ("snapshot", result.snapshot.map { backup in
                .object([("member", .string(backup.member)), ("local_path", .string(backup.localPath)),
                         ("remote_path", .string(backup.remotePath)), ("sha256", .string(backup.sha256))])
            } ?? .null),
            ("outcomes", .array(result.outcomes.map { outcome in
                .object([("host", .string(outcome.step.host)), ("step", .string(outcome.step.name)),
                         ("guard", .string(outcome.step.guarding.rawValue)), ("notes", .strings(outcome.notes)),
                         ("stages_ms", .object(outcome.stages.map { stage in
                             (stage.name, .double((Double(stage.elapsed.components.seconds) * 1000 + Double(stage.elapsed.components.attoseconds) / 1e15).rounded()))
                         }))])
            })),
            ("availability", result.availability?.json ?? .null),
            ("left_to_deploy", .strings(result.otherChanges)),
            ("failure", result.failure.map { failure in
                .object([("host", .string(failure.host)), ("step", .string(failure.step)), ("command", .optional(failure.command)),
                         ("stderr", .optional(failure.stderr)), ("reason", .string(failure.reason)), ("state", .string(failure.state)),
                         ("resume", .string("re-run `clusterup upgrade apply`: it recomputes the plan from what the hosts run"))])
            } ?? .null),
        ])
    }

    static func fail(_ message: String, json: Bool) {
        if json {
            print(JSONValue.object([("ok", .bool(false)), ("failure", .object([("reason", .string(message)), ("state", .string("no host was changed"))]))]).pretty)
        } else {
            printError("error: upgrade apply stopped before any change: \(message)")
        }
    }
}
