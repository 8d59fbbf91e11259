import ClusterupVerify
import Testing

/// The prober's schedule and bookkeeping, driven by hand with made-up times. No sockets.
@Suite struct ProbeTimelineTests {
    func timeline(interval: Int = 2, timeout: Int = 30) -> ProbeTimeline {
        ProbeTimeline(interval: .milliseconds(interval), timeout: .milliseconds(timeout))
    }

    @Test func aProbeStartsEveryIntervalAndNotBefore() {
        var probes = timeline()
        #expect(probes.startIfDue(now: .zero) == 0)
        #expect(probes.startIfDue(now: .milliseconds(1)) == nil)
        #expect(probes.startIfDue(now: .milliseconds(2)) == 1)
        #expect(probes.inFlight.count == 2)
    }

    @Test func probesOverlapSoAnUnansweredOneDoesNotDelayTheNext() {
        var probes = timeline(interval: 2, timeout: 30)
        for step in 0..<10 { _ = probes.startIfDue(now: .milliseconds(step * 2)) }
        // Ten probes waiting for an answer at 18 ms: none has timed out, and the schedule went on.
        #expect(probes.inFlight.count == 10)
        #expect(probes.expire(now: .milliseconds(18)).isEmpty)
    }

    @Test func afterAStallTheCadenceResumesWithoutABurst() {
        var probes = timeline(interval: 2)
        _ = probes.startIfDue(now: .zero)
        #expect(probes.startIfDue(now: .milliseconds(50)) != nil)
        #expect(probes.startIfDue(now: .milliseconds(50)) == nil)
        #expect(probes.nextStart == .milliseconds(52))
    }

    @Test func aProbeThatOutlivesItsTimeoutFailsAtItsStartTime() throws {
        var probes = timeline(interval: 2, timeout: 30)
        let idStarted = probes.startIfDue(now: .milliseconds(4))
        let id = try #require(idStarted)
        #expect(probes.expire(now: .milliseconds(33)).isEmpty)
        #expect(probes.expire(now: .milliseconds(34)) == [id])
        #expect(probes.samples == [ProbeSample(at: .milliseconds(4), ok: false, failure: "no answer within 30 ms")])
        #expect(probes.lastFailure == "no answer within 30 ms")
    }

    @Test func samplesStayInStartOrderWhenProbesFinishOutOfOrder() throws {
        var probes = timeline(interval: 2, timeout: 30)
        let slowStarted = probes.startIfDue(now: .zero)
        let slow = try #require(slowStarted)
        let fastStarted = probes.startIfDue(now: .milliseconds(2))
        let fast = try #require(fastStarted)
        let fasterStarted = probes.startIfDue(now: .milliseconds(4))
        let faster = try #require(fasterStarted)
        probes.settle(faster, .success)
        probes.settle(fast, .success)
        probes.settle(slow, .failure("HTTP 500"))
        #expect(probes.samples.map(\.at) == [.zero, .milliseconds(2), .milliseconds(4)])
        #expect(probes.samples.map(\.ok) == [false, true, true])
        #expect(probes.lastFailure == "HTTP 500")
    }

    @Test func aProbeSettledTwiceCountsOnce() throws {
        var probes = timeline()
        let idStarted = probes.startIfDue(now: .zero)
        let id = try #require(idStarted)
        probes.settle(id, .success)
        probes.settle(id, .failure("late"))
        #expect(probes.samples.count == 1)
        #expect(probes.lastFailure == nil)
    }

    @Test func theWaitEndsAtTheNextStartOrTheOldestTimeout() throws {
        var probes = timeline(interval: 10, timeout: 5)
        _ = probes.startIfDue(now: .zero)
        #expect(probes.wait(now: .milliseconds(1)) == .milliseconds(4))
        _ = probes.expire(now: .milliseconds(5))
        #expect(probes.wait(now: .milliseconds(5)) == .milliseconds(5))
        #expect(probes.wait(now: .milliseconds(12)) == .zero)
    }
}

/// Why probes failed, counted.
@Suite struct ProbeFailureReasonTests {
    @Test func failedProbesAreCountedByReasonMostFrequentFirst() {
        let log = ProbeLog([
            ProbeSample(at: .zero, ok: false, failure: "HTTP 500"),
            ProbeSample(at: .milliseconds(2), ok: false, failure: "no answer within 30 ms"),
            ProbeSample(at: .milliseconds(4), ok: true),
            ProbeSample(at: .milliseconds(6), ok: false, failure: "no answer within 30 ms"),
        ])
        #expect(log.failureReasons.map(\.reason) == ["no answer within 30 ms", "HTTP 500"])
        #expect(log.failureReasons.map(\.count) == [2, 1])
    }

    @Test func aTimelineKeepsTheReasonWithTheSample() throws {
        var probes = ProbeTimeline(interval: .milliseconds(2), timeout: .milliseconds(30))
        let started = probes.startIfDue(now: .zero)
        probes.settle(try #require(started), .failure("connect: Connection refused"))
        #expect(probes.samples == [ProbeSample(at: .zero, ok: false, failure: "connect: Connection refused")])
    }
}
