import ClusterupCore
import ClusterupVerify
import Testing

/// A failover round's decisions and figures (`FailoverRoundPlan`), without nodes or a prober.
@Suite struct FailoverRoundPlanTests {
    static let lbHosts = ["node1", "node2", "node3"]

    func options(_ mode: FailureMode = .crash) -> FailoverOptions {
        FailoverOptions(mode: mode, cut: .seconds(3), hold: .seconds(1), deadline: .seconds(15),
                        probeTarget: ProbeTarget(host: "198.51.100.62", port: 6443))
    }

    func plan(_ mode: FailureMode = .crash, expected: String? = "node1") throws -> FailoverRoundPlan {
        let start = FailoverRoundPlan.start(index: 2, options: options(mode), holders: ["node1"], lbHosts: Self.lbHosts,
                                            expectedHolder: expected)
        guard case .plan(let plan) = start else { Issue.record("no plan: \(start)"); throw CancellationError() }
        return plan
    }

    /// `+` a probe that succeeded, `-` one that failed, 10 ms apart from `start`.
    func log(_ marks: String, from start: Duration = .zero) -> ProbeLog {
        ProbeLog(marks.enumerated().map { offset, mark in
            ProbeSample(at: start + .milliseconds(offset * 10), ok: mark == "+", failure: mark == "+" ? nil : "connect: Connection refused")
        })
    }

    @Test func theSingleHolderIsTheMasterTheRoundBreaks() throws {
        let plan = try plan()
        #expect(plan.master == "node1")
        #expect(plan.index == 2)
        #expect(plan.round.oldMaster == "node1")
        #expect(plan.round.expectedHolder == "node1")
    }

    @Test(arguments: [[String](), ["node1", "node2"]])
    func noOrSeveralHoldersBreakNothing(holders: [String]) {
        let start = FailoverRoundPlan.start(index: 1, options: options(), holders: holders, lbHosts: Self.lbHosts, expectedHolder: nil)
        guard case .skipped(let round) = start else { Issue.record("a plan from \(holders)"); return }
        #expect(round.outcome == .faultNotInjected("expected one VIP holder before the round, found \(holders.count)"))
        #expect(round.holderAfter == holders)
        #expect(!round.isValid)
    }

    @Test func aHolderOutsideTheLbHostsBreaksNothing() {
        let start = FailoverRoundPlan.start(index: 1, options: options(), holders: ["stranger"], lbHosts: Self.lbHosts, expectedHolder: nil)
        guard case .skipped(let round) = start else { Issue.record("a plan for a host that is not an lb host"); return }
        #expect(!round.isValid)
    }

    @Test func theNetworkModeKeepsItsFaultForTheCutOthersForTheHold() throws {
        #expect(try plan(.network).schedule(injectedAt: .seconds(10)).faultEnd == .seconds(13))
        #expect(try plan(.crash).schedule(injectedAt: .seconds(10)).faultEnd == .seconds(11))
        #expect(try plan(.graceful).schedule(injectedAt: .seconds(10)).takeoverDeadline == .seconds(25))
    }

    @Test func theRoundsLogStartsALittleBeforeTheFaultButNotBeforeTheProber() throws {
        #expect(try plan().schedule(injectedAt: .seconds(10)).windowStart == .milliseconds(9700))
        #expect(try plan().schedule(injectedAt: .milliseconds(100)).windowStart == .zero)
    }

    @Test func aMasterIsHealthyOnlyWhenEveryServiceRuns() {
        #expect(FailoverRoundPlan.isHealthy(NodeState(services: ["haproxy.service": true, "etcd.service": true], holdsVIP: true)))
        #expect(!FailoverRoundPlan.isHealthy(NodeState(services: ["haproxy.service": true, "etcd.service": false], holdsVIP: true)))
        #expect(!FailoverRoundPlan.isHealthy(nil))
    }

    @Test func anUnhealthyMasterIsNotBrokenAndTheRoundSaysWhatIsDown() throws {
        let state = NodeState(services: ["haproxy backends up": false, "etcd.service": true, "b.service": false], holdsVIP: true)
        let round = try plan().notHealthy(state, unreadable: "", holders: ["node1"])
        #expect(round.outcome == .faultNotInjected("node1 is not healthy before the round (b.service, haproxy backends up); not failing it"))
        #expect(round.holderAfter == ["node1"])
    }

    @Test func anUnreadableMasterIsNotBrokenAndTheRoundSaysWhy() throws {
        let round = try plan().notHealthy(nil, unreadable: "state unreadable: timed out", holders: ["node1"])
        #expect(round.outcome.reason == "fault not injected: node1 is not healthy before the round (state unreadable: timed out); not failing it")
    }

    @Test func aFaultNotSeenInEffectMeasuresNothingEvenIfTheVIPMoved() throws {
        let plan = try plan()
        let schedule = plan.schedule(injectedAt: .seconds(10))
        let round = plan.afterInjection(schedule, injectionFailure: "the fault command failed on node1: no nft",
                                        takeover: (host: "node2", at: .seconds(11)), cancelled: false)
        #expect(round.outcome == .faultNotInjected("the fault command failed on node1: no nft"))
        #expect(round.newMaster == nil)
        #expect(round.markers.fault == .seconds(10))
        #expect(round.markers.takeover == nil)
    }

    @Test func theFirstOtherHolderIsTheNewMasterAndDetectionRunsFromTheFault() throws {
        let plan = try plan()
        let round = plan.afterInjection(plan.schedule(injectedAt: .seconds(10)), injectionFailure: nil,
                                        takeover: (host: "node3", at: .milliseconds(10_420)), cancelled: false)
        #expect(round.newMaster == "node3")
        #expect(round.detection == .milliseconds(420))
        #expect(round.markers.takeover == .milliseconds(10_420))
        #expect(round.error == nil)
        #expect(round.isValid)
    }

    @Test func noTakeoverWithinTheDeadlineIsTheRoundsError() throws {
        let plan = try plan()
        let round = plan.afterInjection(plan.schedule(injectedAt: .seconds(10)), injectionFailure: nil, takeover: nil, cancelled: false)
        #expect(round.error == "no other node took the VIP within 15.0 seconds")
    }

    @Test func anInterruptedWatchIsNotBlamedOnTheNodes() throws {
        let plan = try plan()
        let round = plan.afterInjection(plan.schedule(injectedAt: .seconds(10)), injectionFailure: nil, takeover: nil, cancelled: true)
        #expect(round.error == nil)
    }

    @Test func aFailedRestoreMakesAMeasuredRoundMeasureNothing() throws {
        var round = try plan().round
        round.recordRestore(failure: nil)
        #expect(round.isValid)
        round.recordRestore(failure: "the restore command failed on node1: busy")
        #expect(round.outcome == .restoreFailed("the restore command failed on node1: busy"))
    }

    @Test func aRoundThatMeasuredNothingKeepsItsFirstReason() throws {
        var round = try plan().round
        round.outcome = .interrupted
        round.recordRestore(failure: "the restore command failed on node1: busy")
        #expect(round.outcome == .interrupted)
    }

    @Test func theFiguresSplitOutagesAtTheRestoreAndCountBothSides() throws {
        // From 9.7 s, 10 ms apart: 30 answers (the last at 9.99 s), the fault at 10.0 s, 5 failures,
        // 15 answers with the restore at 10.15 s among them, 3 failures from 10.2 s while the VIP
        // returns, 10 answers. An outage starts at the last answer before it.
        let window = log("++++++++++++++++++++++++++++++" + "-----" + "+++++++++++++++" + "---" + "++++++++++",
                         from: .milliseconds(9700))
        var round = try plan().round
        round.measure(window, injected: .seconds(10), restoredAt: .milliseconds(10_150))
        #expect(round.probes == 63)
        #expect(round.failedProbes == 8)
        #expect(round.outage?.start == .milliseconds(9990))
        #expect(round.outage?.failedProbes == 5)
        #expect(round.failbackOutage?.start == .milliseconds(10_190))
        #expect(round.failbackOutage?.failedProbes == 3)
        #expect(round.succeededBeforeFault == 30)
        #expect(round.succeededAfterRestore == 15)
        #expect(round.probeSpacing?.median == .milliseconds(10))
        #expect(round.probeSpacing?.maximum == .milliseconds(10))
        #expect(round.failureReasons == [FailureCount(reason: "connect: Connection refused", count: 8)])
        #expect(round.log == window)
    }

    @Test func aRoundWhoseFaultNeverTookEffectCountsProbesOnly() throws {
        var round = try plan().round
        round.measure(log("+++--+"), injected: .zero, restoredAt: nil)
        #expect(round.probes == 6)
        #expect(round.failedProbes == 2)
        #expect(round.outage == nil)
        #expect(round.succeededBeforeFault == 0)
        #expect(round.probeSpacing == nil)
    }

    func inventory(interface: String?) -> Inventory {
        var inventory = Inventory(
            path: "/tmp/inventory.yml", cluster: "test", ssh: SSHSettings(),
            hosts: Self.lbHosts.enumerated().map { InventoryHost(name: $1, address: "198.51.100.\($0 + 10)", roles: [.lb]) },
            pki: PKISettings(directory: "/tmp/pki"))
        inventory.vip = VIPSettings(address: "198.51.100.62")
        inventory.vrrp = VRRPSettings(interface: interface)
        return inventory
    }

    @Test func aFailoverWithoutTheVIPsInterfaceIsRefusedNamingTheField() {
        let error = #expect(throws: ClusterupError.self) {
            try FailoverRunner(inventory: inventory(interface: nil), options: options(), connections: [:], cancel: CancelFlag(),
                               progress: { _ in })
        }
        #expect(error?.location == "/tmp/inventory.yml: vrrp.interface")
        #expect(error?.kind == .badInput)
    }

    @Test func aFailoverWithTheVIPsInterfaceIsAccepted() throws {
        let runner = try FailoverRunner(inventory: inventory(interface: "host0"), options: options(), connections: [:],
                                        cancel: CancelFlag(), progress: { _ in })
        runner.closeAll()
    }
}
