import ClusterupRollout
import ClusterupVerify
import Foundation
import Testing
import Timeline

struct AvailabilityReportTests {
    /// A probe every 10 ms from 0 to 990 ms; the ones in `failing` (ms) fail.
    func log(failing: Set<Int> = []) -> ProbeLog {
        ProbeLog(stride(from: 0, to: 1000, by: 10).map { ms in
            ProbeSample(at: .milliseconds(ms), ok: !failing.contains(ms), failure: failing.contains(ms) ? "connect: Connection refused" : nil)
        })
    }

    let steps = [
        TimelineStep(name: "kube-apiserver upgrade", host: "node1", start: .milliseconds(100), end: .milliseconds(400)),
        TimelineStep(name: "kube-apiserver upgrade", host: "node2", start: .milliseconds(400), end: .milliseconds(800)),
    ]

    @Test func eachStepCountsTheProbesInItsWindow() {
        let report = AvailabilityReport.make(probes: ["tcp", "readyz"], steps: steps, tcp: log(failing: [500, 510, 520]), readyz: log())
        #expect(report.steps.map(\.host) == ["node1", "node2"])
        #expect(report.steps[0].tcp == ProbeCounts(probes: 31, failed: 0, longestGapMilliseconds: 0))
        // Three failures from 500 to 520: the gap runs from the answer at 490 to the one at 530.
        #expect(report.steps[1].tcp == ProbeCounts(probes: 41, failed: 3, longestGapMilliseconds: 40, reasons: ["connect: Connection refused": 3]))
        #expect(report.steps[1].readyz?.failed == 0)
        #expect(report.tcp == ProbeCounts(probes: 100, failed: 3, longestGapMilliseconds: 40, reasons: ["connect: Connection refused": 3]))
        #expect(report.failedProbes == 3)
        #expect(report.disruptedSteps.map(\.host) == ["node2"])
    }

    @Test func withoutReadyzOnlyTCPIsReported() {
        let report = AvailabilityReport.make(probes: ["tcp"], steps: steps, tcp: log(), readyz: nil)
        #expect(report.readyz == nil && report.steps.allSatisfy { $0.readyz == nil })
        #expect(report.lines.last == "total: tcp 0/100 failed")
    }

    @Test func mergingAddsCountsAndKeepsTheLongestGap() {
        let first = AvailabilityReport.make(probes: ["tcp"], steps: [steps[0]], tcp: log(failing: [200]), readyz: nil)
        let second = AvailabilityReport.make(probes: ["tcp", "readyz"], steps: [steps[1]], tcp: log(failing: [600, 610]), readyz: log())
        let merged = first.merged(with: second)
        #expect(merged.steps.map(\.host) == ["node1", "node2"])
        #expect(merged.tcp == ProbeCounts(probes: 200, failed: 3, longestGapMilliseconds: 30, reasons: ["connect: Connection refused": 3]))
        #expect(merged.readyz == ProbeCounts(probes: 100, failed: 0, longestGapMilliseconds: 0))
        #expect(merged.probes == ["tcp", "readyz"])
    }

    @Test func jsonUsesSnakeCaseMilliseconds() throws {
        let report = AvailabilityReport.make(probes: ["tcp"], steps: [steps[0]], tcp: log(failing: [200]), readyz: nil)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"longest_gap_ms\":20"))
        #expect(json.contains("\"start_ms\":100"))
        #expect(try JSONDecoder().decode(AvailabilityReport.self, from: Data(json.utf8)) == report)
    }

    @Test func linesNameTheStepAndItsFailures() {
        let report = AvailabilityReport.make(probes: ["tcp"], steps: steps, tcp: log(failing: [500]), readyz: log())
        #expect(report.lines[0] == "node1: kube-apiserver upgrade: tcp 0/31 failed; readyz 0/31 failed")
        #expect(report.lines[1] == "node2: kube-apiserver upgrade: tcp 1/41 failed, longest gap 20 ms (1× connect: Connection refused); readyz 0/41 failed")
    }
}
