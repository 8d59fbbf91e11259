import ClusterupCore
import ClusterupVerify
import Timeline

/// When the VIP answered again, read from one prober's log: for an operation that starts in an
/// outage and is its cure (`etcd recover` after a lost quorum, when no apiserver is ready), the
/// failed probes are expected, and what the operator needs is when the API came back and whether
/// it stayed up.
public struct AvailabilityReturn: Sendable, Equatable {
    /// "tcp" or "readyz".
    public var probe: String
    public var probes: Int
    /// The first probe failed: the VIP did not answer when the operation started.
    public var downAtStart: Bool
    /// The first probe that succeeded (ms on the watch's clock); nil when none did.
    public var firstAnswerMilliseconds: Double?
    /// Every probe from here to the end succeeded: the start of the last run of successes; nil
    /// when the last probe failed (the VIP did not answer at the end).
    public var steadySinceMilliseconds: Double?
    /// The step under way at `steadySinceMilliseconds`, and how far into it.
    public var steadySinceStep: TimelineStep?
    /// How many probes at the end succeeded in a row (0: the run ended failing).
    public var trailingSuccesses: Int

    public init(probe: String, probes: Int, downAtStart: Bool, firstAnswerMilliseconds: Double?, steadySinceMilliseconds: Double?,
                steadySinceStep: TimelineStep?, trailingSuccesses: Int) {
        self.probe = probe
        self.probes = probes
        self.downAtStart = downAtStart
        self.firstAnswerMilliseconds = firstAnswerMilliseconds
        self.steadySinceMilliseconds = steadySinceMilliseconds
        self.steadySinceStep = steadySinceStep
        self.trailingSuccesses = trailingSuccesses
    }

    /// `log` as the watch recorded it; `steps` the watch's steps (to name the one under way).
    public static func read(_ log: ProbeLog, probe: String, steps: [TimelineStep]) -> AvailabilityReturn {
        let samples = log.samples
        let trailing = samples.reversed().prefix { $0.ok }.count
        let steady = trailing == 0 ? nil : samples[samples.count - trailing].at
        return AvailabilityReturn(
            probe: probe, probes: samples.count, downAtStart: samples.first.map { !$0.ok } ?? false,
            firstAnswerMilliseconds: samples.first { $0.ok }?.at.milliseconds,
            steadySinceMilliseconds: steady?.milliseconds,
            steadySinceStep: steady.flatMap { at in steps.last { $0.start <= at && at <= $0.end } },
            trailingSuccesses: trailing)
    }

    /// One line for the text report.
    public var line: String {
        func seconds(_ ms: Double) -> String { "\(Double(Int((ms / 100).rounded())) / 10) s" }
        var text = "\(probe): " + (downAtStart ? "down at the start" : probes == 0 ? "no probe ran" : "answering at the start")
        guard probes > 0 else { return text }
        if downAtStart, let first = firstAnswerMilliseconds { text += "; first answer at \(seconds(first))" }
        if let steady = steadySinceMilliseconds {
            if downAtStart || trailingSuccesses < probes {
                text += "; answering steadily since \(seconds(steady))"
                if let step = steadySinceStep { text += " (\(step.name) on \(step.host), \(seconds(steady - step.start.milliseconds)) into it)" }
            }
            text += "; the last \(trailingSuccesses) probe\(trailingSuccesses == 1 ? "" : "s") succeeded"
        } else {
            text += "; not answering at the end"
        }
        return text
    }

    public var json: JSONValue {
        .object([
            ("probes", .int(Int64(probes))), ("down_at_start", .bool(downAtStart)),
            ("first_answer_ms", firstAnswerMilliseconds.map(JSONValue.double) ?? .null),
            ("steady_since_ms", steadySinceMilliseconds.map(JSONValue.double) ?? .null),
            ("steady_since_step", steadySinceStep.map { .object([("step", .string($0.name)), ("host", .string($0.host))]) } ?? .null),
            ("trailing_successes", .int(Int64(trailingSuccesses))),
        ])
    }
}
