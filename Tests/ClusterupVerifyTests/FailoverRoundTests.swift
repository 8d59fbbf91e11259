import ClusterupVerify
import Testing

/// The round report, the node state comparison and where the VIP belongs. No sockets.
@Suite struct FailoverRoundTests {
    func round(downtime: Duration = .milliseconds(12), holders: [String] = ["node1"], expected: String? = "node1",
               notRestored: [String] = [], error: String? = nil) -> FailoverRound {
        FailoverRound(
            index: 1, mode: .graceful, oldMaster: "node1", newMaster: "node2", detection: .milliseconds(9),
            outage: Outage(start: .seconds(1), end: .seconds(1) + downtime, failedProbes: 5, recovered: true),
            probes: 900, failedProbes: 5, holderAfter: holders, expectedHolder: expected, notRestored: notRestored,
            error: error)
    }

    @Test func aRoundThatFailedOverAndCameBackPasses() {
        #expect(round().problems(maxDowntime: .milliseconds(50)).isEmpty)
        #expect(round().failback == "returned to node1")
    }

    @Test func downtimeOverTheLimitFailsTheRound() {
        let problems = round(downtime: .milliseconds(80)).problems(maxDowntime: .milliseconds(50))
        #expect(problems == ["downtime 80.0 ms exceeds --max-downtime 50.0 ms"])
    }

    @Test func twoHoldersAfterRestoreIsSplitBrain() {
        let report = round(holders: ["node1", "node2"])
        #expect(report.problems(maxDowntime: nil).contains("split brain after restore: node1, node2"))
        #expect(report.failback == "split brain")
    }

    @Test func withPreemptTheVIPMustReturnToTheConfiguredHolder() {
        let report = round(holders: ["node2"], expected: "node1")
        #expect(report.problems(maxDowntime: nil) == ["VIP on node2, configured placement is node1"])
        #expect(report.failback == "stayed on node2")
    }

    @Test func withoutPreemptAnySingleHolderIsFine() {
        #expect(round(holders: ["node3"], expected: nil).problems(maxDowntime: nil).isEmpty)
    }

    @Test func aNodeNotBackToItsStateFailsTheRound() {
        let report = round(notRestored: ["haproxy.service was active, now inactive"])
        #expect(report.problems(maxDowntime: nil) == ["node1 not restored: haproxy.service was active, now inactive"])
    }

    @Test func theJSONReportCarriesTheFigures() {
        let json = round().json(maxDowntime: nil)
        #expect(json["downtime_ms"] == .double(12))
        #expect(json["detection_ms"] == .double(9))
        #expect(json["new_master"] == .string("node2"))
        #expect(json["ok"] == .bool(true))
    }

    @Test func nodeStateComparisonNamesEveryDifference() {
        let before = NodeState(services: ["haproxy.service": true, "clusterup-vrrpd.service": true], holdsVIP: true)
        let after = NodeState(services: ["haproxy.service": true, "clusterup-vrrpd.service": false], holdsVIP: false)
        #expect(after.differences(from: before) == [
            "clusterup-vrrpd.service was active, now inactive", "held the VIP before, not after",
        ])
        #expect(before.differences(from: before).isEmpty)
    }

    @Test func preemptPlacesTheVIPOnTheHighestPriority() {
        let placement = VIPPlacement.expectedHolder(
            priorities: ["node1": 254, "node2": 253, "node3": 252], addresses: [:], preempt: true)
        #expect(placement == "node1")
    }

    @Test func equalPrioritiesAreBrokenByTheHigherPrimaryAddress() {
        let placement = VIPPlacement.expectedHolder(
            priorities: ["a": 100, "b": 100], addresses: ["a": "198.51.100.9", "b": "198.51.100.10"], preempt: true)
        #expect(placement == "b")
    }

    @Test func withoutPreemptThereIsNoConfiguredHolder() {
        #expect(VIPPlacement.expectedHolder(priorities: ["node1": 254], addresses: [:], preempt: false) == nil)
    }

    @Test func theSummaryTakesTheMedianDowntimeOfTheRounds() {
        let rounds = [30, 10, 20, 50].map { round(downtime: .milliseconds($0)) }
        #expect(FailoverSummary(rounds).medianDowntime == .milliseconds(25))
        #expect(FailoverSummary(Array(rounds.prefix(3))).medianDowntime == .milliseconds(20))
        #expect(FailoverSummary(rounds).maximumDowntime == .milliseconds(50))
        #expect(!FailoverSummary(rounds).passed(maxDowntime: .milliseconds(40)))
    }
}

@Suite struct RoundOutageSplitTests {
    @Test func outagesBeforeRestoreAreTheTakeoverAndAfterItTheFailback() throws {
        // Probes every 10 ms: takeover outage 20-60 ms, restore at 100 ms, failback outage 120-140 ms.
        let marks = "++-----+++++++-++++"
        let log = ProbeLog(marks.enumerated().map { ProbeSample(at: .milliseconds($0.offset * 10), ok: $0.element == "+") })
        let (takeover, failback) = FailoverRound.outages(log, restoredAt: .milliseconds(100))
        #expect(try #require(takeover).duration == .milliseconds(60))
        #expect(try #require(failback).duration == .milliseconds(20))
    }

    @Test func aFailbackOverTheLimitFailsTheRound() {
        let round = FailoverRound(
            index: 1, mode: .network, oldMaster: "node1", newMaster: "node2",
            failbackOutage: Outage(start: .seconds(5), end: .seconds(6), failedProbes: 500, recovered: true),
            holderAfter: ["node1"], expectedHolder: "node1")
        #expect(round.problems(maxDowntime: .milliseconds(500)) == ["failback downtime 1000.0 ms exceeds --max-downtime 500.0 ms"])
        #expect(round.worstDowntime == .seconds(1))
    }
}
