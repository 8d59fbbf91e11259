import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup etcd defrag [INVENTORY] [--min-free P | --all] [--compact] [--dry-run]`.
    struct EtcdDefragCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "defrag",
            abstract: "Defragment etcd members one at a time, followers first, the leader last.",
            discussion: """
            Defragmentation rewrites a member's database file to give back the space of deleted and compacted revisions; the member answers nothing meanwhile (seconds for gigabytes). Members are taken one at a time: followers first, then the leader after leadership moved to a defragmented follower (`etcdctl move-leader`); each must be healthy and have applied everything the leader had before the next is touched. Only members whose free share of the file is at least --min-free (default 20%) are taken, or every member with --all. Refused while a member does not answer or the members disagree on the leader.

            --compact first compacts the keyspace to the current revision (older values of each key are dropped; the apiserver normally does this itself every few minutes), so that defragmentation frees the space of everything but the newest values: what a NOSPACE alarm needs before `etcd alarms disarm`.

            Examples:
              clusterup etcd defrag --dry-run
              clusterup etcd defrag lab.yml --all --compact --output json
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("Defragment members whose free share of the database file is at least this (e.g. 20%).", valueName: "percent"))
        var minFree: String?

        @Flag(help: "Defragment every member, whatever its free share.")
        var all = false

        @Flag(help: "Compact the keyspace to the current revision first.")
        var compact = false

        @Flag(help: "Show which members would be defragmented, in which order, and change nothing.")
        var dryRun = false

        @Option(help: "Seconds each member may take to defragment and become healthy again.")
        var healthTimeout: Int = 120

        func validate() throws {
            if all && minFree != nil { throw ValidationError("give either --min-free or --all") }
            _ = try selection()
        }

        func selection() throws -> EtcdDefragPlan.Selection {
            if all { return .all }
            guard let minFree else { return .minFree(EtcdDefragPlan.defaultMinFree) }
            let number = minFree.hasSuffix("%") ? String(minFree.dropLast()) : minFree
            guard let value = Double(number), (0...100).contains(value) else {
                throw ClusterupError.badInput("'\(minFree)' is not a percentage from 0 to 100", at: "--min-free", hint: "e.g. --min-free 20%")
            }
            return .minFree(value / 100)
        }

        func run() async throws {
            let loaded = try inventory.load()
            let settings = loaded.deploy
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            let progress: @Sendable (String) -> Void = { [json = output.isJSON] line in if !json { print(line) } }
            var survey = try await EtcdSurvey.read(inventory: loaded, settings: settings, sessions: sessions)
            var compactedAt: Int64? = nil
            if compact && !dryRun {
                compactedAt = try await EtcdDefrag.compact(survey: survey, inventory: loaded, settings: settings, sessions: sessions)
                progress("compacted the keyspace to revision \(compactedAt!)")
                // What compaction freed shows in the members' in-use size.
                survey = try await EtcdSurvey.read(inventory: loaded, settings: settings, sessions: sessions)
            }
            let plan = try EtcdDefragPlan.plan(states: survey.members, selection: try selection(), order: EtcdMemberOrdering.shared)
            if dryRun || !output.isJSON { progress(Self.describe(plan, dryRun: dryRun, compact: compact && dryRun)) }
            var results: [EtcdDefrag.MemberResult] = []
            if !dryRun && !plan.members.isEmpty {
                let timeout = healthTimeout
                let task = Task {
                    try await EtcdDefrag.run(plan: plan, inventory: loaded, settings: settings, sessions: sessions, healthTimeout: .seconds(timeout),
                                             onMember: { progress("defragmenting \($0)") }, note: progress)
                }
                let interrupt = InterruptHandler { task.cancel() }
                defer { interrupt.remove() }
                do {
                    results = try await task.value
                } catch let failure as DeployFailure {
                    printError(failure.description)
                    throw ExitCode(1)
                }
            }
            if output.isJSON {
                print(Self.json(plan: plan, results: results, compactedAt: compactedAt, dryRun: dryRun).pretty)
            } else if !dryRun {
                print(plan.members.isEmpty ? "etcd defrag: nothing to do" : "etcd defrag: \(results.count) member(s) defragmented, one at a time")
            }
        }

        static func describe(_ plan: EtcdDefragPlan, dryRun: Bool, compact: Bool) -> String {
            func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
            var rows: [[String]] = []
            for (index, member) in plan.members.enumerated() {
                rows.append(["\(index + 1)", member.name, member.isLeader ? "leader" : "follower", "\(ByteCount(member.dbSize))",
                             "\(ByteCount(member.dbSizeInUse))", percent(member.freeFraction),
                             member.isLeader ? plan.moveLeaderTo.map { "move leadership to \($0), then defrag" } ?? "defrag" : "defrag"])
            }
            for member in plan.skipped {
                rows.append(["-", member.name, member.isLeader ? "leader" : "follower", "\(ByteCount(member.dbSize))",
                             "\(ByteCount(member.dbSizeInUse))", percent(member.freeFraction), "skip (below threshold)"])
            }
            var text = compact ? "would compact the keyspace to the current revision first (sizes below are before it)\n" : ""
            text += TextTable.render(header: ["#", "MEMBER", "ROLE", "SIZE", "IN USE", "FREE", dryRun ? "WOULD" : "ACTION"], rows: rows)
            return text.trimmingCharacters(in: .newlines)
        }

        static func json(plan: EtcdDefragPlan, results: [EtcdDefrag.MemberResult], compactedAt: Int64?, dryRun: Bool) -> JSONValue {
            .object([
                ("dry_run", .bool(dryRun)),
                ("compacted_revision", compactedAt.map { .int($0) } ?? .null),
                ("move_leader_to", .optional(plan.moveLeaderTo)),
                ("members", .array(plan.members.map { member in
                    let result = results.first { $0.name == member.name }
                    return .object([
                        ("name", .string(member.name)), ("leader", .bool(member.isLeader)),
                        ("size_before", .int(member.dbSize)), ("in_use_before", .int(member.dbSizeInUse)),
                        ("size_after", result.map { .int($0.sizeAfter) } ?? .null),
                        ("seconds", result.map { .double($0.seconds) } ?? .null),
                        ("leader_moved_to", .optional(result?.leaderMovedTo)),
                    ])
                })),
                ("skipped", .array(plan.skipped.map { .object([("name", .string($0.name)), ("size", .int($0.dbSize)), ("in_use", .int($0.dbSizeInUse))]) })),
            ])
        }
    }
}
