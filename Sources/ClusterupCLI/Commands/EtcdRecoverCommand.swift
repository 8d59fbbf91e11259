import ArgumentParser
import ClusterupCore
import ClusterupDeploy
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
                printError(failure.description)
                throw ExitCode(1)
            }
            for (host, path) in result.keptAside.sorted(by: { $0.key < $1.key }) { say("\(host): previous data directory kept at \(path)") }
            let deployReport = Locked<JSONValue>(.null)
            if !plan.rejoin.isEmpty {
                say("re-adding \(plan.rejoin.joined(separator: ", ")) with `clusterup deploy`, one member at a time:")
                do {
                    // JSON output stays one document: the deploy's report goes inside ours.
                    try await DeployCommand.deploy(loaded, ssh: ssh, output: output, concurrency: FanOut.defaultConcurrency, dryRun: false,
                                                   healthTimeout: healthTimeout, vrrpdBinary: nil, jsonSink: { value in deployReport.withLock { $0 = value } })
                } catch {
                    if output.isJSON { print(Self.json(plan, revision: result.revision, snapshotAge: snapshotAge, dryRun: false, deploy: deployReport.withLock { $0 }).pretty) }
                    printError("etcd runs as a one-member cluster on \(plan.seed) (revision \(result.revision.map(String.init) ?? "unknown")); re-adding the others failed: re-run `clusterup deploy` to finish")
                    throw error
                }
            }
            if output.isJSON {
                print(Self.json(plan, revision: result.revision, snapshotAge: snapshotAge, dryRun: false, deploy: deployReport.withLock { $0 }).pretty)
            } else {
                print("etcd recovered from \(Self.sourceText(plan.source)) at revision \(result.revision.map(String.init) ?? "unknown")"
                      + (snapshotAge.map { "; the snapshot is \(AgeText.describe($0)) old: writes after it are lost" } ?? ""))
                if !plan.leftOut.isEmpty { print("left out (unreachable): \(plan.leftOut.joined(separator: ", ")); run `clusterup deploy` once they are back") }
            }
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

        static func json(_ plan: EtcdRecoverPlan, revision: Int64?, snapshotAge: TimeInterval?, dryRun: Bool, deploy: JSONValue = .null) -> JSONValue {
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
            ])
        }
    }
}
