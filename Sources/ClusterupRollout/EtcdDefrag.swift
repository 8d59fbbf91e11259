import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupSSH
import Foundation

/// `clusterup etcd defrag`: the plan's members one at a time, each against its own endpoint. The
/// leader hands leadership over first (the rollout's `EtcdMembers.moveLeader`); each member must
/// answer and have caught up with the leader (`EtcdMembers.awaitCaughtUp`) before the next is
/// touched, so at most one member is ever blocked. Blocking: call it on a dedicated thread.
public enum EtcdDefrag {
    public struct MemberResult: Sendable, Codable, Equatable {
        public var name: String
        public var sizeBefore: Int64
        public var inUseBefore: Int64
        public var sizeAfter: Int64
        /// How long the member was blocked defragmenting.
        public var seconds: Double
        /// Set for the leader: the member it handed leadership to.
        public var leaderMovedTo: String?
    }

    /// `etcdctl compact` to the newest revision: keeps only the newest value of each key, so the
    /// space of older ones becomes free for defrag to give back. Returns the revision.
    public static func compact(survey: EtcdSurvey, shell: some RemoteShell, etcdctl: String) throws -> Int64 {
        guard let revision = survey.members.compactMap(\.status?.revision).max(), revision > 0 else {
            throw ClusterupError.remote("no member reported a revision to compact to", hint: "check `clusterup status`")
        }
        let result = try shell.run(Etcdctl.command(etcdctl, "compact \(revision) --command-timeout=120s"), sudo: true, timeout: 150)
        // Compacted to this revision already (a re-run): nothing more to free, not a failure.
        guard result.succeeded || result.stderrText.contains("required revision has been compacted") else {
            throw RolloutCommandError(host: shell.hostName, command: "etcdctl compact \(revision)", stderr: result.stderrText,
                                      how: "exited with status \(result.exitStatus)")
        }
        return revision
    }

    /// Runs the plan with `members` (shells on the etcd hosts). `onMember` is called before each
    /// member is touched (the availability watch marks its step there).
    public static func run(
        plan: EtcdDefragPlan, members: EtcdMembers, timeout: Duration,
        onMember: (EtcdDefragPlan.Member) -> Void, note: (String) -> Void, cancelled: () -> Bool = { false }
    ) throws -> [MemberResult] {
        var done: [MemberResult] = []
        for member in plan.members {
            guard !cancelled() else { throw CancellationError() }
            onMember(member)
            do {
                guard let shell = members.shells[member.name] else {
                    throw ClusterupError.badInput("etcd member \(member.name) is not a host of the inventory",
                                                  hint: "deploy names members after their hosts; run `clusterup deploy` to reconcile membership")
                }
                var movedTo: String? = nil
                if member.isLeader, let successor = plan.moveLeaderTo {
                    note("\(member.name): moving leadership to \(successor)")
                    try members.moveLeader(from: member.name, to: successor)
                    movedTo = successor
                }
                let seconds = Int(timeout.components.seconds)
                let started = ContinuousClock.now
                try RolloutCommand.run(shell, Etcdctl.command(members.etcdctl, "defrag --command-timeout=\(seconds)s", endpoints: member.endpoint),
                                       timeout: Double(seconds + 15))
                let took = ContinuousClock.now - started
                let after = try members.awaitCaughtUp(member.name)
                let result = MemberResult(name: member.name, sizeBefore: member.dbSize, inUseBefore: member.dbSizeInUse, sizeAfter: after.dbSize,
                                          seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18, leaderMovedTo: movedTo)
                done.append(result)
                note("\(member.name): \(ByteCount(result.sizeBefore)) → \(ByteCount(result.sizeAfter)), blocked \(String(format: "%.2f", result.seconds)) s; caught up")
            } catch {
                throw RolloutFailure(
                    host: member.name, step: "defrag", error: error,
                    state: "Defragmented: \(done.isEmpty ? "none" : done.map(\.name).joined(separator: ", ")). \(member.name) may still be defragmenting or catching up: check `clusterup status`; a re-run takes only the members still above the threshold.")
            }
        }
        return done
    }
}
