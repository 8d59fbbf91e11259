import ClusterupVerify
import Testing

/// Downtime as a client sees it, computed from a probe log. No sockets.
@Suite struct ProbeLogTests {
    /// A log from a compact spec: "+" success, "-" failure, one character every `step` ms.
    func log(_ pattern: String, step: Int = 2) -> ProbeLog {
        ProbeLog(pattern.enumerated().map { index, mark in
            ProbeSample(at: .milliseconds(index * step), ok: mark == "+")
        })
    }

    @Test func everyProbeAnsweredMeansNoDowntime() {
        let probes = log("++++++")
        #expect(probes.longestOutage == nil)
        #expect(probes.downtimeMilliseconds == 0)
        #expect(probes.failedProbes == 0)
    }

    @Test func downtimeRunsFromLastSuccessBeforeToFirstSuccessAfter() throws {
        // Successes at 0, 2; failures at 4, 6, 8; success at 10.
        let outage = try #require(log("++---+").longestOutage)
        #expect(outage.start == .milliseconds(2))
        #expect(outage.end == .milliseconds(10))
        #expect(outage.duration == .milliseconds(8))
        #expect(outage.failedProbes == 3)
        #expect(outage.recovered)
    }

    @Test func theLongestRunOfFailuresIsTheDowntime() throws {
        let probes = log("+-+----+--+")
        #expect(probes.outages.count == 3)
        let outage = try #require(probes.longestOutage)
        #expect(outage.failedProbes == 4)
        #expect(outage.duration == .milliseconds(10))
        #expect(probes.failedProbes == 7)
    }

    @Test func aLogThatEndsFailingIsAnUnrecoveredOutage() throws {
        let outage = try #require(log("++---").longestOutage)
        #expect(!outage.recovered)
        #expect(outage.start == .milliseconds(2))
        #expect(outage.end == .milliseconds(8))
    }

    @Test func aLogThatStartsFailingCountsFromItsFirstSample() throws {
        let outage = try #require(log("--++").longestOutage)
        #expect(outage.start == .zero)
        #expect(outage.end == .milliseconds(4))
    }

    @Test func aWindowKeepsOnlyTheSamplesOfOneRound() {
        // The long run of failures before the window (at 2 ms) is not this round's.
        let round = log("+-------+---+").window(from: .milliseconds(16), to: .milliseconds(24))
        #expect(round.samples.map(\.at) == [16, 18, 20, 22, 24].map { .milliseconds($0) })
        #expect(round.longestOutage?.duration == .milliseconds(8))
    }

    @Test func samplesNeedNotBeEvenlySpaced() throws {
        let probes = ProbeLog([
            ProbeSample(at: .microseconds(1_000), ok: true),
            ProbeSample(at: .microseconds(3_500), ok: false),
            ProbeSample(at: .microseconds(40_000), ok: false),
            ProbeSample(at: .microseconds(41_250), ok: true),
        ])
        #expect(probes.longestOutage?.duration == .microseconds(40_250))
        #expect(abs(probes.downtimeMilliseconds - 40.25) < 0.0001)
    }
}

/// The real resolution of a probe log.
@Suite struct ProbeSpacingTests {
    @Test func spacingIsTheMedianAndLongestGapBetweenProbeStarts() throws {
        let starts = [0, 2, 4, 6, 20, 22]
        let spacing = try #require(ProbeLog(starts.map { ProbeSample(at: .milliseconds($0), ok: true) }).spacing)
        #expect(spacing.median == .milliseconds(2))
        #expect(spacing.maximum == .milliseconds(14))
    }

    @Test func aSingleProbeHasNoSpacing() {
        #expect(ProbeLog([ProbeSample(at: .zero, ok: true)]).spacing == nil)
    }
}
