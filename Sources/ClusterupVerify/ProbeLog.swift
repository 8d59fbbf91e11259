/// One attempt of the prober: when it started (on a monotonic clock, relative to the start of the
/// run) and whether the VIP answered within the timeout.
public struct ProbeSample: Sendable, Equatable {
    public var at: Duration
    public var ok: Bool
    /// Why it failed ("HTTP 500", "connect: Connection refused", "no answer within 30 ms").
    public var failure: String?

    public init(at: Duration, ok: Bool, failure: String? = nil) {
        self.at = at
        self.ok = ok
        self.failure = ok ? nil : failure
    }
}

/// A run of failed probes as a client saw it: from the last success before it to the first
/// success after it (so the figure includes the probe spacing, as a client would feel it).
public struct Outage: Sendable, Equatable {
    /// Last success before the failures, or the first sample when the log starts failing.
    public var start: Duration
    /// First success after the failures, or the last sample when the VIP never answered again.
    public var end: Duration
    public var failedProbes: Int
    /// False when the log ends while still failing: the downtime is at least `duration`.
    public var recovered: Bool

    public init(start: Duration, end: Duration, failedProbes: Int, recovered: Bool) {
        self.start = start
        self.end = end
        self.failedProbes = failedProbes
        self.recovered = recovered
    }

    public var duration: Duration { end - start }
}

public struct ProbeSpacing: Sendable, Equatable {
    public var median: Duration
    public var maximum: Duration
}

/// What a probe log says about client-visible downtime.
public struct ProbeLog: Sendable, Equatable {
    public var samples: [ProbeSample]

    public init(_ samples: [ProbeSample]) {
        self.samples = samples
    }

    public var failedProbes: Int { samples.count { !$0.ok } }

    /// How many probes failed for each reason, most frequent first.
    public var failureReasons: [(reason: String, count: Int)] {
        var counts: [String: Int] = [:]
        for sample in samples where !sample.ok { counts[sample.failure ?? "unknown", default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Every run of consecutive failures, in order.
    public var outages: [Outage] {
        var result: [Outage] = []
        var lastSuccess: Duration?
        var runStart: Duration?
        var runLength = 0
        for sample in samples {
            if sample.ok {
                if let start = runStart {
                    result.append(Outage(start: start, end: sample.at, failedProbes: runLength, recovered: true))
                    runStart = nil
                    runLength = 0
                }
                lastSuccess = sample.at
            } else {
                if runStart == nil { runStart = lastSuccess ?? sample.at }
                runLength += 1
            }
        }
        if let start = runStart, let last = samples.last {
            result.append(Outage(start: start, end: last.at, failedProbes: runLength, recovered: false))
        }
        return result
    }

    /// The longest outage: the round's downtime. nil when every probe succeeded.
    public var longestOutage: Outage? {
        outages.max { $0.duration < $1.duration }
    }

    /// Downtime in milliseconds: 0 when nothing failed.
    public var downtimeMilliseconds: Double {
        longestOutage.map { $0.duration.milliseconds } ?? 0
    }

    /// Time between consecutive probe starts: the log's real resolution, which CPU starvation
    /// (a TLS handshake costs about a millisecond of CPU) can make coarser than the interval.
    public var spacing: ProbeSpacing? {
        guard samples.count >= 2 else { return nil }
        let gaps = zip(samples.dropFirst(), samples).map { $0.at - $1.at }.sorted()
        return ProbeSpacing(median: gaps[gaps.count / 2], maximum: gaps[gaps.count - 1])
    }

    /// Only the samples in a window (the part of the log that belongs to one round).
    public func window(from start: Duration, to end: Duration) -> ProbeLog {
        ProbeLog(samples.filter { $0.at >= start && $0.at <= end })
    }
}
