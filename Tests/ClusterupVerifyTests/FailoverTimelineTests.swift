import ClusterupVerify
import Testing
import Timeline

/// From a failover report to the timeline picture: the same samples and moments, offset to the
/// fault. No sockets.
@Suite struct FailoverTimelineTests {
    let context = FailoverTimeline.Context(cluster: "lab", mode: .network, probeKind: "tcp", probe: "tcp 198.51.100.62:8443",
                                           interval: .milliseconds(2), timeout: .milliseconds(30))

    /// A round on the prober's clock: the fault at 10 s, probes every 10 ms from 9.7 s to 13 s.
    func round(placed: Duration? = .milliseconds(12_400), holderAfter: [String] = ["node1"]) -> FailoverRound {
        let injected = Duration.seconds(10)
        var samples: [ProbeSample] = []
        for step in 0...330 {
            let at = Duration.milliseconds(9_700 + step * 10)
            let offset = at - injected
            if offset >= .zero && offset < .milliseconds(250) {
                samples.append(ProbeSample(at: at, ok: false, failure: "no answer within 30 ms"))
            } else if offset >= .milliseconds(2_300) && offset < .milliseconds(2_330) {
                samples.append(ProbeSample(at: at, ok: false, failure: "connect: Connection refused"))
            } else {
                samples.append(ProbeSample(at: at, ok: true))
            }
        }
        let log = ProbeLog(samples)
        let (takeover, failback) = FailoverRound.outages(log, restoredAt: .seconds(12))
        var round = FailoverRound(index: 2, mode: .network, oldMaster: "node1", newMaster: "node2", detection: .milliseconds(262),
                                  outage: takeover, failbackOutage: failback, probes: samples.count, failedProbes: log.failedProbes,
                                  holderAfter: holderAfter, expectedHolder: "node1")
        round.trace = RoundTrace(samples: samples, injected: injected, restored: .seconds(12), placed: placed)
        return round
    }

    @Test func everySampleBecomesAProbeOffsetToTheFault() throws {
        let report = round()
        let lane = try #require(FailoverTimeline.picture([report], context: context).lanes.first)
        let samples = try #require(report.trace?.samples)
        #expect(lane.probes.count == samples.count)
        #expect(lane.probes.first?.at == .milliseconds(-300))
        #expect(lane.probes.last?.at == .milliseconds(3_000))
        #expect(lane.probes.allSatisfy { $0.kind == "tcp" })
        #expect(lane.probes.count { $0.outcome != .success } == report.failedProbes)
        #expect(lane.probes.first { $0.at == .zero }?.outcome == .failure(.timeout, reason: "no answer within 30 ms"))
        #expect(lane.probes.first { $0.at == .milliseconds(2_300) }?.outcome == .failure(.refused, reason: "connect: Connection refused"))
    }

    @Test func markersAreTheFaultTakeoverRestoreAndFailback() throws {
        let lane = try #require(FailoverTimeline.picture([round()], context: context).lanes.first)
        #expect(lane.markers == [
            TimelineMarker(at: .zero, kind: .fault, label: "network fault on node1"),
            TimelineMarker(at: .milliseconds(262), kind: .takeover, label: "VIP seen on node2"),
            TimelineMarker(at: .seconds(2), kind: .restore, label: "restore node1"),
            TimelineMarker(at: .milliseconds(2_400), kind: .failback, label: "VIP seen back on node1"),
        ])
        // Without preempt the VIP stays where it went; a round that never saw it placed has no failback.
        let stayed = try #require(FailoverTimeline.picture([round(holderAfter: ["node2"])], context: context).lanes.first)
        #expect(stayed.markers.last?.label == "VIP seen staying on node2")
        let unplaced = try #require(FailoverTimeline.picture([round(placed: nil)], context: context).lanes.first)
        #expect(!unplaced.markers.contains { $0.kind == .failback })
    }

    @Test func outagesAreSpansAndFiguresMatchTheReport() throws {
        let report = round()
        let picture = FailoverTimeline.picture([report, round()], context: context)
        let lane = try #require(picture.lanes.first)
        // From the last success before the failures to the first after: -10 ms to 250 ms.
        #expect(lane.spans == [
            TimelineSpan(start: .milliseconds(-10), end: .milliseconds(250), label: "downtime 260.0 ms"),
            TimelineSpan(start: .milliseconds(2_290), end: .milliseconds(2_330), label: "failback downtime 40.0 ms"),
        ])
        #expect(lane.figures == [TimelineFigure("downtime", "260.0 ms"), TimelineFigure("failback downtime", "40.0 ms"),
                                 TimelineFigure("failed probes", "\(report.failedProbes) of \(report.probes)")])
        #expect(picture.figures.last == TimelineFigure("failed probes", "\(2 * report.failedProbes) of \(2 * report.probes)"))
        #expect(picture.lanes.count == 2)
        #expect(picture.title == "verify failover of lab: network, 2 rounds")
    }

    @Test func aDetailOfTheTakeoverOnlyWhenOutagesAreTooShortToSee() throws {
        // 260 ms of outage in 3.3 s of log: visible on the whole-run axis.
        #expect(FailoverTimeline.picture([round()], context: context).detail == nil)
        // A graceful move of 4 ms: drawn again from 50 ms before the fault to 50 ms after the takeover.
        let injected = Duration.seconds(10)
        var samples = (0...1600).map { ProbeSample(at: injected + .milliseconds(-300 + 2 * $0), ok: true) }
        samples[151] = ProbeSample(at: samples[151].at, ok: false, failure: "no answer within 30 ms")
        let log = ProbeLog(samples)
        var graceful = FailoverRound(index: 1, mode: .graceful, oldMaster: "node1", newMaster: "node2", detection: .milliseconds(63),
                                     outage: log.longestOutage, probes: samples.count, failedProbes: 1, holderAfter: ["node1"])
        graceful.trace = RoundTrace(samples: samples, injected: injected, restored: injected + .seconds(1))
        #expect(FailoverTimeline.picture([graceful], context: context).detail == .milliseconds(-50) ... .milliseconds(120))
    }

    @Test func aRoundWithoutAProbeLogSaysWhy() throws {
        let failed = FailoverRound(index: 1, mode: .graceful, oldMaster: "node1", error: "node1 is not healthy before the round (haproxy); not failing it")
        let lane = try #require(FailoverTimeline.picture([failed], context: context).lanes.first)
        #expect(lane.probes.isEmpty)
        #expect(lane.note == "round failed: node1 is not healthy before the round (haproxy); not failing it; no probe log: no fault ran")
    }

    @Test(arguments: [
        ("connect: Connection refused", ProbeFailure.refused),
        ("no answer within 30 ms", .timeout),
        ("connect: Connection timed out", .timeout),
        ("connect: Connection reset by peer", .reset),
        ("TLS handshake: Connection reset by peer", .reset),
        ("reading the response: the server closed the connection", .reset),
        ("HTTP 500", .http),
        ("TLS handshake: certificate verify failed: unable to get local issuer certificate", .tls),
        ("TLS handshake: error:0A000126:SSL routines::unexpected eof while reading", .tls),
        ("connect: No route to host", .other),
    ])
    func proberReasonsFallIntoClasses(_ reason: String, _ expected: ProbeFailure) {
        #expect(FailoverTimeline.failureClass(reason) == expected)
    }
}
