import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupRollout
import ClusterupSSH
import ClusterupVerify
import Foundation
import Timeline

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

        @Option(help: "Seconds each member may take to defragment and to catch up again.")
        var healthTimeout: Int = 120

        @Option(help: ArgumentHelp("Write the availability timeline (probes through the VIP, a band per member) as SVG.", valueName: "file.svg"))
        var plot: String?

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
            if let plot { try PlotFile.checkWritable(plot) }
            let connector = try ssh.connector(for: loaded)
            let sessions = HostSessions(connector: connector)
            let json = output.isJSON
            let progress: @Sendable (String) -> Void = { line in if !json { Terminal.writeStandardOutput(line + "\n") } }
            let before = try await EtcdSurvey.read(inventory: loaded, settings: settings, sessions: sessions)
            let firstPlan = try EtcdDefragPlan.plan(states: before.members, selection: try selection())
            if dryRun {
                if json {
                    print(Self.json(plan: firstPlan, results: [], compactedAt: nil, availability: nil, dryRun: true).pretty)
                } else {
                    print(Self.describe(firstPlan, dryRun: true, compact: compact))
                }
                return
            }
            let etcdHosts = loaded.hosts(withRole: .etcd)
            let etcdctl = settings.artifact("etcdctl")?.path ?? "etcdctl"
            let watch = loaded.vip.map { vip in
                AvailabilityWatch(.init(target: ProbeTarget(host: vip.address, port: vip.port),
                                        readyz: HTTPSProbe(caFile: loaded.pki.directory + "/ca.crt")))
            }
            let timeout = healthTimeout
            let selection = try selection()
            let doCompact = compact
            let stop = Locked(false)
            let interrupt = InterruptHandler { stop.withLock { $0 = true } }
            defer { interrupt.remove() }
            struct Outcome: Sendable {
                var plan: EtcdDefragPlan
                var results: [EtcdDefrag.MemberResult]
                var compactedAt: Int64?
                var probed = false
                var unprobed: String?
                var failure: RolloutFailure?
            }
            let outcome = try await DedicatedThread.run(name: "etcd-defrag") { () throws -> Outcome in
                let connections = try FailoverRunner.connectAll(etcdHosts, connector: connector)
                defer { connections.values.forEach { $0.close() } }
                let members = EtcdMembers(shells: connections.mapValues { $0 as any RemoteShell }, etcdctl: etcdctl, limit: .seconds(timeout))
                var compactedAt: Int64? = nil
                var plan = firstPlan
                if doCompact, let shell = connections[before.queriedOn] {
                    compactedAt = try EtcdDefrag.compact(survey: before, shell: shell, etcdctl: etcdctl)
                    progress("compacted the keyspace to revision \(compactedAt!)")
                    // What compaction freed shows in the members' in-use size: plan again.
                    var again = try EtcdSurvey.parse(try RolloutCommand.run(shell, EtcdSurvey.script(etcdctl: etcdctl), timeout: 40), host: before.queriedOn)
                    again.members = before.members.compactMap { old in again.members.first { $0.member.id == old.member.id } }
                    plan = try EtcdDefragPlan.plan(states: again.members, selection: selection)
                }
                progress(Self.describe(plan, dryRun: false, compact: false))
                guard !plan.members.isEmpty else { return Outcome(plan: plan, results: [], compactedAt: compactedAt) }
                // A cluster in a NOSPACE alarm serves nothing through the VIP (etcd's /health
                // fails, every apiserver is unready): defrag is the cure, so it runs unprobed then.
                var probed = watch
                var unprobed: String? = watch == nil ? "no vip in the inventory" : nil
                do {
                    try watch?.start()
                } catch {
                    probed = nil
                    unprobed = "the VIP did not answer steadily before the defrag (\(ClusterupCore.describe(error)))"
                    progress("availability not measured: \(unprobed!)")
                }
                do {
                    let results = try EtcdDefrag.run(
                        plan: plan, members: members, timeout: .seconds(timeout),
                        onMember: { member in
                            probed?.mark(step: "defrag", host: member.name)
                            progress("defragmenting \(member.name)")
                        },
                        note: progress, cancelled: { stop.withLock { $0 } })
                    return Outcome(plan: plan, results: results, compactedAt: compactedAt, probed: probed != nil, unprobed: unprobed)
                } catch let failure as RolloutFailure {
                    return Outcome(plan: plan, results: [], compactedAt: compactedAt, probed: probed != nil, unprobed: unprobed, failure: failure)
                }
            }
            let plan = outcome.plan
            let availability = outcome.probed ? watch?.finish() : nil
            if let plot, let watch, outcome.probed {
                try PlotFile.write(TimelineSVG.render(watch.picture(title: "etcd defrag of \(loaded.cluster)")), to: plot)
            }
            if json {
                var document = Self.json(plan: plan, results: outcome.results, compactedAt: outcome.compactedAt, availability: availability, dryRun: false)
                if case .object(var fields) = document, let reason = outcome.unprobed {
                    fields.append(("availability_not_measured", JSONValue.string(reason)))
                    document = .object(fields)
                }
                print(document.pretty)
            } else {
                if let availability { print(availability.lines.joined(separator: "\n")) }
                if outcome.failure == nil {
                    print(plan.members.isEmpty ? "etcd defrag: nothing to do" : "etcd defrag: \(outcome.results.count) member(s) defragmented, one at a time")
                }
            }
            if let failure = outcome.failure {
                printError(failure.description)
                throw ExitCode(1)
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

        static func json(plan: EtcdDefragPlan, results: [EtcdDefrag.MemberResult], compactedAt: Int64?, availability: AvailabilityReport?, dryRun: Bool) -> JSONValue {
            .object([
                ("dry_run", .bool(dryRun)),
                ("availability", availability.flatMap { try? JSONValue(encoding: $0) } ?? .null),
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
