import ClusterupRollout
import ClusterupVerify
import Testing
import Timeline

/// `etcd recover` starts in an outage: its report says when the API answered again.
struct AvailabilityReturnTests {
    /// A probe every 100 ms from 0 to 1900 ms; those in `failing` (ms) fail.
    func log(failing: Set<Int>) -> ProbeLog {
        ProbeLog(stride(from: 0, to: 2000, by: 100).map { ms in
            ProbeSample(at: .milliseconds(ms), ok: !failing.contains(ms), failure: failing.contains(ms) ? "HTTP 500" : nil)
        })
    }

    let steps = [
        TimelineStep(name: "recover", host: "node1", start: .zero, end: .milliseconds(1000)),
        TimelineStep(name: "re-add members", host: "node2,node3", start: .milliseconds(1000), end: .milliseconds(1900)),
    ]

    @Test func aRunStartingInTheOutageIsBackFromTheFirstOfItsLastSuccesses() {
        let back = AvailabilityReturn.read(log(failing: Set(stride(from: 0, through: 600, by: 100))), probe: "readyz", steps: steps)
        #expect(back.downAtStart)
        #expect(back.firstAnswerMilliseconds == 700)
        #expect(back.steadySinceMilliseconds == 700)
        #expect(back.steadySinceStep?.name == "recover")
        #expect(back.trailingSuccesses == 13)
        #expect(back.line == "readyz: down at the start; first answer at 0.7 s; answering steadily since 0.7 s (recover on node1, 0.7 s into it); the last 13 probes succeeded")
    }

    @Test func aBlipAfterTheFirstAnswerMovesSteadyButNotFirst() {
        let failing = Set(stride(from: 0, through: 300, by: 100)).union([1200, 1300])
        let back = AvailabilityReturn.read(log(failing: failing), probe: "tcp", steps: steps)
        #expect(back.firstAnswerMilliseconds == 400)
        #expect(back.steadySinceMilliseconds == 1400)
        #expect(back.steadySinceStep?.host == "node2,node3")
        #expect(back.trailingSuccesses == 6)
    }

    @Test func aRunEndingInFailureIsNotBack() {
        let back = AvailabilityReturn.read(log(failing: [0, 100, 1900]), probe: "readyz", steps: steps)
        #expect(back.steadySinceMilliseconds == nil && back.steadySinceStep == nil)
        #expect(back.trailingSuccesses == 0)
        #expect(back.line.hasSuffix("not answering at the end"))
    }

    @Test func aRunThatNeverFailedSaysSoWithoutAReturnTime() {
        let back = AvailabilityReturn.read(log(failing: []), probe: "tcp", steps: steps)
        #expect(!back.downAtStart)
        #expect(back.steadySinceMilliseconds == 0)
        #expect(back.line == "tcp: answering at the start; the last 20 probes succeeded")
    }

    @Test func anEmptyLogClaimsNothing() {
        let back = AvailabilityReturn.read(ProbeLog([]), probe: "tcp", steps: [])
        #expect(!back.downAtStart && back.firstAnswerMilliseconds == nil && back.steadySinceMilliseconds == nil)
        #expect(back.line == "tcp: no probe ran")
    }
}
