import ClusterupCore
import ClusterupVerify
import Testing

/// A round that measured nothing enters no figure, in the table, the summary line and the JSON.
@Suite struct RoundOutcomeTests {
    /// A round that failed over with `downtime` of client outage, and whatever `outcome` says.
    func round(_ index: Int, downtime: Duration = .milliseconds(12), outcome: RoundOutcome = .measured) -> FailoverRound {
        var round = FailoverRound(
            index: index, mode: .crash, oldMaster: "node1", newMaster: "node2", detection: .milliseconds(280),
            outage: Outage(start: .seconds(1), end: .seconds(1) + downtime, failedProbes: 5, recovered: true),
            probes: 900, failedProbes: 5, holderAfter: ["node1"], expectedHolder: "node1")
        round.outcome = outcome
        return round
    }

    /// What a round whose fault never went in looks like: no outage, no new master.
    func notInjected(_ index: Int, _ why: String) -> FailoverRound {
        var round = FailoverRound(index: index, mode: .network, oldMaster: "node1", probes: 700, holderAfter: ["node1"],
                                  expectedHolder: "node1")
        round.outcome = .faultNotInjected(why)
        return round
    }

    @Test func aFailedInjectionFailsTheRoundWithItsReasonAndCarriesNoFigure() {
        let failed = notInjected(1, "the fault command failed on node1: sh: 3: nft: not found")
        #expect(!failed.isValid)
        #expect(failed.problems(maxDowntime: nil) == ["fault not injected: the fault command failed on node1: sh: 3: nft: not found"])
        let row = failed.row(maxDowntime: nil)
        #expect(Array(row[4...6]) == ["-", "-", "-"])
        #expect(row.last == "fault not injected: the fault command failed on node1: sh: 3: nft: not found")
        let json = failed.json(maxDowntime: nil)
        #expect(json["downtime_ms"] == .null)
        #expect(json["failback_downtime_ms"] == .null)
        #expect(json["detection_ms"] == .null)
        #expect(json["valid"] == .bool(false))
        #expect(json["outcome"] == .string("fault_not_injected"))
        #expect(json["ok"] == .bool(false))
    }

    @Test func aFailedRestoreFailsTheRoundAndItsMeasuredOutageIsNotAFigure() {
        let failed = round(1, downtime: .milliseconds(300), outcome: .restoreFailed("the restore command did not finish on node1 within 30 s"))
        #expect(!failed.isValid)
        #expect(failed.problems(maxDowntime: .milliseconds(100)) == ["restore failed: the restore command did not finish on node1 within 30 s"])
        let json = failed.json(maxDowntime: nil)
        #expect(json["downtime_ms"] == .null)
        #expect(json["recovered"] == .null)
        #expect(json["outcome"] == .string("restore_failed"))
        #expect(json["reason"] == .string("restore failed: the restore command did not finish on node1 within 30 s"))
        let summary = FailoverSummary([failed])
        #expect(summary.medianDowntime == nil)
        #expect(summary.maximumDowntime == nil)
    }

    @Test func aMixOfValidAndInvalidRoundsTakesItsFiguresFromTheValidOnly() {
        let rounds = [round(1, downtime: .milliseconds(10)), round(2, downtime: .milliseconds(30)),
                      notInjected(3, "node1 is not healthy before the round (haproxy.service); not failing it")]
        let summary = FailoverSummary(rounds)
        // With the invalid round's 0 counted the median would be 10 ms.
        #expect(summary.medianDowntime == .milliseconds(20))
        #expect(summary.maximumDowntime == .milliseconds(30))
        #expect(summary.medianDetection == .milliseconds(280))
        #expect(!summary.passed(maxDowntime: nil))
        let line = summary.line(label: "crash")
        #expect(line.hasPrefix("crash, 3 round(s), 2 valid: median downtime 20.0 ms"))
        #expect(line.contains("max downtime 30.0 ms"))
        #expect(line.hasSuffix("not counted: round 3: fault not injected: node1 is not healthy before the round (haproxy.service); not failing it"))
        let json = JSONValue.object(summary.json)
        #expect(json["valid_rounds"] == .int(2))
        #expect(json["invalid_rounds"] == .int(1))
        #expect(json["median_downtime_ms"] == .double(20))
        #expect(json["max_downtime_ms"] == .double(30))
    }

    @Test func noValidRoundMeansNoFigureAtAll() {
        let summary = FailoverSummary([notInjected(1, "the fault command failed on node1: nft: command not found")])
        #expect(summary.medianDowntime == nil)
        #expect(summary.maximumDowntime == nil)
        #expect(summary.medianFailbackDowntime == nil)
        #expect(summary.medianDetection == nil)
        #expect(!summary.passed(maxDowntime: nil))
        let line = summary.line(label: "network")
        #expect(line.hasPrefix("network, 1 round(s), 0 valid: no valid round, no figure"))
        #expect(!line.contains("ms,"))
        #expect(line.contains("round 1: fault not injected: the fault command failed on node1: nft: command not found"))
        let json = JSONValue.object(summary.json)
        for key in ["median_downtime_ms", "median_failback_downtime_ms", "max_downtime_ms", "median_detection_ms"] {
            #expect(json[key] == .null, "\(key)")
        }
        #expect(json["valid_rounds"] == .int(0))
        #expect(JSONValue.object(summary.json).compact.contains("\"median_downtime_ms\":null"))
    }

    @Test func allValidRoundsSayNothingAboutValidity() {
        let line = FailoverSummary([round(1), round(2)]).line(label: "graceful")
        #expect(line.hasPrefix("graceful, 2 round(s): median downtime 12.0 ms"))
        #expect(!line.contains("not counted"))
    }

    @Test func anInterruptedRoundIsNotCounted() {
        let interrupted = round(1, downtime: .milliseconds(3), outcome: .interrupted)
        #expect(interrupted.problems(maxDowntime: nil) == ["interrupted before the round ended"])
        #expect(FailoverSummary([interrupted, round(2, downtime: .milliseconds(40))]).medianDowntime == .milliseconds(40))
    }

    @Test func anInvalidRoundIsNotJudgedOnADowntimeItDidNotMeasure() {
        var unrecovered = round(1, outcome: .restoreFailed("x"))
        unrecovered.outage?.recovered = false
        #expect(unrecovered.problems(maxDowntime: .milliseconds(1)) == ["restore failed: x"])
    }

    @Test func theMarkersAndTheLogStayWithTheRound() {
        var measured = round(1)
        measured.markers = RoundMarkers(fault: .seconds(2), takeover: .milliseconds(2280), restore: .seconds(3))
        measured.log = ProbeLog([ProbeSample(at: .seconds(2), ok: true), ProbeSample(at: .milliseconds(2002), ok: false, failure: "x")])
        let markers = measured.json(maxDowntime: nil)["markers"]
        #expect(markers?["fault_ms"] == .double(2000))
        #expect(markers?["takeover_ms"] == .double(2280))
        #expect(markers?["restore_ms"] == .double(3000))
        #expect(measured.log.failedProbes == 1)
    }
}
