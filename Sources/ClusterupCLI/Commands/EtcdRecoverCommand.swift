import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupRollout
import ClusterupVerify
import Foundation

extension Clusterup {
    /// `clusterup etcd recover [INVENTORY] (--from-member NAME | --from-snapshot FILE) --yes [--force]`.
    struct EtcdRecoverCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recover",
            abstract: "Bring etcd back after it lost quorum: one member from a survivor's data or a snapshot, then the others re-added.",
            discussion: """
            For a cluster that lost quorum (two of three members gone, say). Refused (exit 2) while any member still answers as healthy: a member answers only with a quorum, and then the lost members are replaced by `clusterup deploy` instead. --force recovers anyway (and leaves out unreachable etcd hosts).

            --from-member NAME: etcd is stopped on every reachable etcd host; NAME's data directory is copied aside, then NAME starts once with --force-new-cluster (a runtime drop-in, removed once healthy): a one-member cluster with everything NAME had applied.
            --from-snapshot FILE: checked against FILE.sha256 when present (`etcd backup` writes it); restored on the first reachable etcd host as a one-member cluster.

            Then every other etcd host's data directory is moved aside and `clusterup deploy` runs: it adds them as new members one at a time (member add, start, healthy before the next), as it joins any new member. Every data directory touched is kept at <data dir>.before-recover-<time>. Prints the revision recovered and, for a snapshot, its age: writes after it are lost.

            Probed through the VIP from the start (TCP connects and HTTPS /readyz, as `etcd defrag`): failures while etcd has no quorum are expected; the report gives failed probes and the longest gap for the recovery and for the re-adding of members, and when the API answered again.

            Examples:
              clusterup etcd recover --from-member node1 --yes
              clusterup etcd recover lab.yml --from-snapshot etcd-backups/etcd-lab-20261122T060000Z.db --yes
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Recover from this surviving member's data.")
        var fromMember: String?

        @Option(help: "Recover from this snapshot file (on this machine).")
        var fromSnapshot: String?

        @Flag(help: "Confirm: etcd is stopped on every etcd host and the others' data is replaced.")
        var yes = false

        @Flag(help: "Recover even though a member still answers (a quorum may exist), or with etcd hosts unreachable.")
        var force = false

        @Flag(help: "Show what would be done and change nothing.")
        var dryRun = false

        @Option(help: "Seconds to wait for each member to become healthy.")
        var healthTimeout: Int = 90

        func validate() throws {
            guard (fromMember == nil) != (fromSnapshot == nil) else {
                throw ValidationError("give exactly one of --from-member NAME and --from-snapshot FILE")
            }
        }

        func run() async throws {
            let loaded = try inventory.load()
            let settings = loaded.deploy
            let source: EtcdRecoverPlan.Source = fromMember.map { .member($0) } ?? .snapshot(fromSnapshot!)
            if !yes && !dryRun {
                throw ClusterupError.badInput(
                    "recover stops etcd on every etcd host and replaces the data of all but one; refusing without --yes", at: "--yes",
                    hint: "look first with --dry-run, then re-run with --yes")
            }
            // The snapshot is read and checked before anything else: a damaged file changes nothing.
            var snapshot: [UInt8]? = nil
            var snapshotNote: String? = nil
            var snapshotAge: TimeInterval? = nil
            if let path = fromSnapshot {
                snapshot = try EtcdRestore.readSnapshot(path)
                let checked = FileManager.default.fileExists(atPath: path + ".sha256")
                snapshotNote = checked ? "sha256 matches \(path).sha256" : "no \(path).sha256 beside it: its checksum was not checked"
                let taken = EtcdRecoverPlan.snapshotTime(fileName: path)
                    ?? (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
                snapshotAge = taken.map { Date().timeIntervalSince($0) }
            }
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            let facts = await EtcdRecover.probe(inventory: loaded, settings: settings, sessions: sessions)
            let plan = try EtcdRecoverPlan.plan(etcdHosts: loaded.hosts(withRole: .etcd).map(\.name), facts: facts, source: source, force: force)
            let text = !output.isJSON
            // Unbuffered, like the deploy's own lines, so the two stay in order.
            func say(_ line: String) { if text { Terminal.writeStandardOutput(line + "\n") } }
            say(Self.describe(plan, facts: facts, snapshotNote: snapshotNote, snapshotAge: snapshotAge))
            if dryRun {
                if output.isJSON { print(Self.json(plan, revision: nil, snapshotAge: snapshotAge, dryRun: true).pretty) }
                return
            }
            // Probed through the VIP like defrag, but started in the outage: without a quorum no
            // apiserver is ready, so the report is when the API came back rather than a baseline.
            let probing = await Self.startWatch(loaded)
            if let reason = probing.unprobed { say("availability not measured: \(reason)") }
            let watch = probing.watch
            watch?.mark(step: "recover", host: plan.seed)
            let timeout = healthTimeout
            let task = Task {
                try await EtcdRecover.run(plan: plan, snapshot: snapshot, inventory: loaded, settings: settings, sessions: sessions,
                                          healthTimeout: .seconds(timeout), note: { line in if text { Terminal.writeStandardOutput(line + "\n") } })
            }
            let interrupt = InterruptHandler { task.cancel() }
            let result: EtcdRecover.Result
            do {
                result = try await task.value
                interrupt.remove()
            } catch let failure as DeployFailure {
                interrupt.remove()
                let availability = await Self.finish(watch, text: text)
                if output.isJSON { print(Self.json(plan, revision: nil, snapshotAge: snapshotAge, dryRun: false, availability: availability, unprobed: probing.unprobed).pretty) }
                printError(failure.description)
                throw ExitCode(1)
            } catch {
                interrupt.remove()
                _ = await Self.finish(watch, text: text)
                throw error
            }
            for (host, path) in result.keptAside.sorted(by: { $0.key < $1.key }) { say("\(host): previous data directory kept at \(path)") }
            let deployReport = Locked<JSONValue>(.null)
            if !plan.rejoin.isEmpty {
                watch?.mark(step: "re-add members", host: plan.rejoin.joined(separator: ","))
                say("re-adding \(plan.rejoin.joined(separator: ", ")) with `clusterup deploy`, one member at a time:")
                do {
                    // JSON output stays one document: the deploy's report goes inside ours.
                    try await DeployCommand.deploy(loaded, ssh: ssh, output: output, concurrency: FanOut.defaultConcurrency, dryRun: false,
                                                   healthTimeout: healthTimeout, vrrpdBinary: nil, jsonSink: { value in deployReport.withLock { $0 = value } })
                } catch {
                    let availability = await Self.finish(watch, text: text)
                    if output.isJSON { print(Self.json(plan, revision: result.revision, snapshotAge: snapshotAge, dryRun: false, deploy: deployReport.withLock { $0 },
                                                       availability: availability, unprobed: probing.unprobed).pretty) }
                    printError("etcd runs as a one-member cluster on \(plan.seed) (revision \(result.revision.map(String.init) ?? "unknown")); re-adding the others failed: re-run `clusterup deploy` to finish")
                    throw error
                }
            }
            let availability = await Self.finish(watch, text: text)
            if output.isJSON {
                print(Self.json(plan, revision: result.revision, snapshotAge: snapshotAge, dryRun: false, deploy: deployReport.withLock { $0 },
                                availability: availability, unprobed: probing.unprobed).pretty)
            } else {
                print("etcd recovered from \(Self.sourceText(plan.source)) at revision \(result.revision.map(String.init) ?? "unknown")"
                      + (snapshotAge.map { "; the snapshot is \(AgeText.describe($0)) old: writes after it are lost" } ?? ""))
                if !plan.leftOut.isEmpty { print("left out (unreachable): \(plan.leftOut.joined(separator: ", ")); run `clusterup deploy` once they are back") }
            }
        }

        /// The watch through the VIP, probing from now on whatever the VIP answers; nil with the
        /// reason when there is no VIP or the probes cannot start.
        static func startWatch(_ inventory: Inventory) async -> (watch: AvailabilityWatch?, unprobed: String?) {
            guard let vip = inventory.vip else { return (nil, "no vip in the inventory") }
            let watch = AvailabilityWatch(.init(target: ProbeTarget(host: vip.address, port: vip.port),
                                                readyz: HTTPSProbe(caFile: inventory.pki.directory + "/ca.crt")))
            do {
                try await DedicatedThread.run(name: "recover-watch") { try watch.startInOutage() }
                return (watch, nil)
            } catch {
                return (nil, "the probes through the VIP did not start (\(ClusterupCore.describe(error)))")
            }
        }

        /// Stops the watch; in text, prints per step the failed probes and longest gap, and when
        /// the API answered again.
        static func finish(_ watch: AvailabilityWatch?, text: Bool) async -> (report: AvailabilityReport, returns: [AvailabilityReturn])? {
            guard let watch else { return nil }
            // Stopping joins the probe threads (a probe in flight may take its timeout): off the pool.
            guard let (report, returns) = try? await DedicatedThread.run(name: "recover-watch", { (watch.finish(), watch.returns()) }) else { return nil }
            if text {
                print("through the VIP (failures while etcd has no quorum are expected: no apiserver is ready then):")
                for line in report.lines + returns.map(\.line) { print("  \(line)") }
            }
            return (report, returns)
        }

        static func sourceText(_ source: EtcdRecoverPlan.Source) -> String {
            switch source {
            case .member(let name): "member \(name)'s data"
            case .snapshot(let path): "snapshot \(path)"
            }
        }

        static func describe(_ plan: EtcdRecoverPlan, facts: [String: EtcdRecoverPlan.HostFacts], snapshotNote: String?, snapshotAge: TimeInterval?) -> String {
            var lines = ["recover from \(sourceText(plan.source))" + (snapshotAge.map { " (taken \(AgeText.describe($0)) ago)" } ?? "")]
            if let snapshotNote { lines.append("  \(snapshotNote)") }
            lines.append("  1. \(plan.seed): " + (plan.source == .member(plan.seed)
                ? "copy its data aside, start it with --force-new-cluster (one-member cluster)"
                : "restore the snapshot as a one-member cluster"))
            for (index, host) in plan.rejoin.enumerated() {
                lines.append("  \(index + 2). \(host): data aside, re-added as a new member by deploy")
            }
            for host in plan.leftOut { lines.append("  -  \(host): unreachable, left out") }
            return lines.joined(separator: "\n")
        }

        static func json(_ plan: EtcdRecoverPlan, revision: Int64?, snapshotAge: TimeInterval?, dryRun: Bool, deploy: JSONValue = .null,
                         availability: (report: AvailabilityReport, returns: [AvailabilityReturn])? = nil, unprobed: String? = nil) -> JSONValue {
            var source: [(String, JSONValue)] = []
            switch plan.source {
            case .member(let name): source = [("member", .string(name))]
            case .snapshot(let path): source = [("snapshot", .string(path))]
            }
            return .object([
                ("dry_run", .bool(dryRun)), ("source", .object(source)), ("seed", .string(plan.seed)),
                ("rejoin", .strings(plan.rejoin)), ("left_out", .strings(plan.leftOut)),
                ("revision", revision.map { .int($0) } ?? .null),
                ("snapshot_age_seconds", snapshotAge.map { .double($0.rounded()) } ?? .null),
                ("deploy", deploy),
                ("availability", availability.map { $0.report.json } ?? .null),
                ("api_back", availability.map { .object($0.returns.map { ($0.probe, $0.json) }) } ?? .null),
                ("availability_not_measured", unprobed.map(JSONValue.string) ?? .null),
            ])
        }
    }
}
