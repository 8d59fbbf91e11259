import ClusterupCore
import ClusterupSSH
import Foundation

/// `clusterup etcd defrag`: the plan's members one at a time, each from its own host against its
/// own endpoint. The leader hands leadership over first; each member must be healthy and caught
/// up with the leader before the next is touched, so at most one member is ever blocked.
public enum EtcdDefrag {
    public struct MemberResult: Sendable, Codable, Equatable {
        public var name: String
        public var sizeBefore: Int64
        public var inUseBefore: Int64
        public var sizeAfter: Int64
        public var seconds: Double
        /// Set for the leader: the member it handed leadership to.
        public var leaderMovedTo: String?
    }

    /// `etcdctl compact` to the current revision: keeps only the newest value of each key, so
    /// the space of older ones becomes free for defrag to give back. Returns the revision.
    public static func compact(survey: EtcdSurvey, inventory: Inventory, settings: DeploySettings, sessions: HostSessions) async throws -> Int64 {
        guard let revision = survey.members.compactMap(\.status?.revision).max(), revision > 0,
              let host = inventory.host(named: survey.queriedOn) else {
            throw ClusterupError.remote("no member reported a revision to compact to", hint: "check `clusterup status`")
        }
        let etcdctl = etcdctlPath(settings)
        let results = await sessions.run([host], step: "compacting") { _, connection, _ in
            let result = try connection.run(Etcdctl.command(etcdctl, "compact \(revision) --command-timeout=120s"), sudo: true, timeout: 150)
            // Compacted earlier to this revision already: nothing more to free.
            guard result.succeeded || result.stderrText.contains("required revision has been compacted") else {
                throw ClusterupError.remote("etcdctl compact \(revision) failed: \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))", host: host.name)
            }
        }
        if let error = results.first?.error { throw error }
        return revision
    }

    /// Runs the plan. `onMember` is called before each member is touched (an availability watch
    /// marks its step there); `note` prints progress.
    public static func run(
        plan: EtcdDefragPlan, inventory: Inventory, settings: DeploySettings, sessions: HostSessions, healthTimeout: Duration,
        onMember: @escaping @Sendable (String) -> Void, note: @escaping @Sendable (String) -> Void
    ) async throws -> [MemberResult] {
        let etcdctl = etcdctlPath(settings)
        var done: [MemberResult] = []
        for member in plan.members {
            guard let host = inventory.host(named: member.name) else {
                throw ClusterupError.badInput("etcd member \(member.name) is not a host of the inventory", at: inventory.path,
                                              hint: "deploy names members after their hosts; run `clusterup deploy` to reconcile membership")
            }
            onMember(member.name)
            let successorID = member.isLeader ? try successor(in: plan) : nil
            let results = await sessions.run([host], step: "defragmenting") { host, connection, reporter in
                var movedTo: String? = nil
                if let (id, name) = successorID {
                    reporter.step("moving leadership to \(name)")
                    _ = try connection.checkedOutput(Etcdctl.command(etcdctl, "move-leader \(String(id, radix: 16))", endpoints: member.endpoint), timeout: 30)
                    try waitLeader(is: id, name: name, endpoint: member.endpoint, etcdctl: etcdctl, host: host, connection: connection, timeout: healthTimeout)
                    movedTo = name
                }
                reporter.step("defragmenting")
                let started = ContinuousClock.now
                let seconds = Int(healthTimeout.components.seconds)
                _ = try connection.checkedOutput(
                    Etcdctl.command(etcdctl, "defrag --command-timeout=\(seconds)s", endpoints: member.endpoint), timeout: Double(seconds + 15))
                let took = ContinuousClock.now - started
                reporter.step("waiting for health")
                try EtcdPhase.waitHealthy(host, connection: connection, etcdctl: etcdctl, timeout: healthTimeout)
                let after = try waitCaughtUp(member: member, etcdctl: etcdctl, host: host, connection: connection, timeout: healthTimeout)
                return MemberResult(name: member.name, sizeBefore: member.dbSize, inUseBefore: member.dbSizeInUse, sizeAfter: after.dbSize,
                                    seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18, leaderMovedTo: movedTo)
            }
            switch results.first?.outcome {
            case .success(let result)?:
                done.append(result)
                note("\(member.name): \(ByteCount(result.sizeBefore)) → \(ByteCount(result.sizeAfter)) in \(String(format: "%.1f", result.seconds)) s"
                     + (result.leaderMovedTo.map { " (leadership moved to \($0) first)" } ?? ""))
            case .failure(let error)?:
                throw DeployFailure(
                    phase: "etcd defrag", failures: [(member.name, describe(error))],
                    state: "Defragmented so far: \(done.isEmpty ? "none" : done.map(\.name).joined(separator: ", ")). \(member.name) may still be defragmenting or restarting: check `clusterup status`; a re-run defragments only the members still above the threshold.")
            case nil:
                throw CancellationError()
            }
        }
        return done
    }

    /// The member ID and name of the member the leader hands over to.
    static func successor(in plan: EtcdDefragPlan) throws -> (UInt64, String)? {
        guard let name = plan.moveLeaderTo else { return nil }
        guard let member = (plan.members + plan.skipped).first(where: { $0.name == name }) else {
            throw ClusterupError.local("the defrag plan names \(name) as successor but not as a member")
        }
        return (member.memberID, name)
    }

    /// Polls the member's own status until it names `id` as leader.
    static func waitLeader(is id: UInt64, name: String, endpoint: String, etcdctl: String, host: ClusterupCore.Host,
                           connection: some RemoteShell, timeout: Duration) throws {
        let status = Etcdctl.command(etcdctl, "endpoint status -w json", endpoints: endpoint)
        try RemoteWait.run(
            until: "\(status) | grep -q '\"leader\":\(id),'", explain: "\(status) 2>&1 | tail -3", timeout: timeout, on: connection
        ) { detail in
            ClusterupError.remote("leadership did not move to \(name) within \(timeout): \(detail)", host: host.name,
                                  hint: "nothing was defragmented on \(host.name); re-run `clusterup etcd defrag`")
        }
    }

    /// Polls the cluster's status until this member has applied everything the leader had when
    /// its defragmentation ended; returns its status then.
    static func waitCaughtUp(member: EtcdDefragPlan.Member, etcdctl: String, host: ClusterupCore.Host,
                             connection: some RemoteShell, timeout: Duration) throws -> EtcdEndpointStatus {
        let deadline = ContinuousClock.now + timeout
        var target: UInt64? = nil
        var last = "no status"
        while true {
            let output = try connection.run(Etcdctl.command(etcdctl, "endpoint status --cluster -w json"), sudo: true, timeout: 30)
            if let statuses = try? EtcdEndpointStatus.parseList(output.stdoutText, host: host.name),
               let mine = statuses.first(where: { $0.memberID == member.memberID }),
               let leader = statuses.first(where: { $0.memberID == mine.leader }) {
                let goal = target ?? leader.raftIndex
                target = goal
                if mine.raftAppliedIndex >= goal { return mine }
                last = "applied \(mine.raftAppliedIndex) of the leader's \(goal)"
            } else {
                last = output.stderrText.split(separator: "\n").last.map(String.init) ?? "no status"
            }
            guard ContinuousClock.now < deadline else {
                throw ClusterupError.remote("\(member.name) did not catch up with the leader within \(timeout): \(last)", host: host.name)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
