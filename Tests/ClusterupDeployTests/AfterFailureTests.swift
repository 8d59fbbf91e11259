import ClusterupCore
import Testing
@testable import ClusterupDeploy

/// What a failure in each phase leaves on the nodes is the phase's own property, and the failure
/// report's state sentence comes from it (not from the phase's title).
@Suite struct AfterFailureTests {
    /// Every phase of deploy, in order, with what a failure in it leaves. A new phase must be
    /// added here: the first test fails until it is.
    static let expected: [(title: String, afterFailure: AfterFailure)] = [
        ("connect", .nodesUnchanged),
        ("preflight", .nodesUnchanged),
        ("lock", .nodesUnchanged),
        ("versions", .nodesUnchanged),
        ("artifacts", .nodesPartWay),
        ("pki", .nodesUnchanged),
        ("plan", .nodesUnchanged),
        ("write files", .nodesPartWay),
        ("etcd", .nodesPartWay),
        ("control plane", .nodesPartWay),
        ("load balancer", .nodesPartWay),
        ("record version", .nodesPartWay),
        ("post-deploy checks", .deployed),
    ]

    @Test func everyPhaseDeclaresWhatAFailureInItLeaves() {
        #expect(Deploy.phases.map(\.title) == Self.expected.map(\.title))
        for (phase, expected) in zip(Deploy.phases, Self.expected) {
            #expect(phase.afterFailure == expected.afterFailure, "\(phase.title)")
        }
    }

    @Test func phasesThatChangeHostsNeverClaimNoNodeChangedButTheLock() {
        // The lock phase writes only its lock, released when the deploy fails.
        for phase in Deploy.phases where phase.changesHosts && phase.title != "lock" {
            #expect(phase.afterFailure != .nodesUnchanged, "\(phase.title)")
        }
    }

    @Test func theFailureReportsStateComesFromThePhase() async throws {
        let results = await FanOut(concurrency: 1).run(["node2"], name: { $0 }, initialStep: "writing") { _, _ -> Int in
            throw ClusterupError.remote("command 'systemctl start etcd' exited with status 1", host: "node2")
        }
        for phase in Deploy.phases {
            do {
                try DeploySession.failIfAny(results, phase: phase)
                Issue.record("\(phase.title): no failure")
            } catch let failure as DeployFailure {
                #expect(failure.phase == phase.title)
                #expect(failure.state == phase.afterFailure.state, "\(phase.title)")
                #expect(failure.failures.map(\.host) == ["node2"])
            }
        }
    }

    @Test func eachStateSaysWhatToDo() {
        #expect(AfterFailure.nodesUnchanged.state == "No node was changed. Fix the cause and re-run deploy.")
        #expect(AfterFailure.nodesPartWay.state.hasSuffix("Re-running deploy resumes from what each host has."))
        #expect(AfterFailure.deployed.state.hasPrefix("Every component is deployed"))
        #expect(Set(AfterFailure.allCases.map(\.state)).count == AfterFailure.allCases.count)
    }

    @Test func succeededHostsFailNothing() async throws {
        let results = await FanOut(concurrency: 1).run(["node1"], name: { $0 }, initialStep: "writing") { _, _ in 1 }
        try DeploySession.failIfAny(results, phase: PlanPhase())
    }
}
