/// The prober's schedule and bookkeeping as a value: when the next probe starts, which probes are
/// in flight and since when, which have outlived their timeout, and the samples so far (ordered by
/// start time, however the probes finish). Time is passed in; the prober owns the clock and sockets.
public struct ProbeTimeline: Sendable {
    public let interval: Duration
    public let timeout: Duration
    public private(set) var nextStart: Duration
    /// Probe id → start time.
    public private(set) var inFlight: [Int: Duration] = [:]
    public private(set) var samples: [ProbeSample] = []
    /// Why the latest failed probe failed (for an error message when nothing ever succeeds).
    public private(set) var lastFailure: String?
    private var nextID = 0

    public init(interval: Duration, timeout: Duration, start: Duration = .zero) {
        self.interval = interval
        self.timeout = timeout
        self.nextStart = start
    }

    /// A new probe id when one is due at `now`, else nil.
    public mutating func startIfDue(now: Duration) -> Int? {
        guard now >= nextStart else { return nil }
        nextStart += interval
        // After a stall (scheduler, suspended process) resume the cadence instead of bursting.
        if nextStart <= now { nextStart = now + interval }
        let id = nextID
        nextID += 1
        inFlight[id] = now
        return id
    }

    /// Records the outcome of probe `id` at its start time. Unknown ids (already settled) are ignored.
    public mutating func settle(_ id: Int, _ outcome: ProbeOutcome) {
        guard let started = inFlight.removeValue(forKey: id) else { return }
        if case .failure(let reason) = outcome { lastFailure = reason }
        if case .failure(let reason) = outcome {
            insert(ProbeSample(at: started, ok: false, failure: reason))
        } else {
            insert(ProbeSample(at: started, ok: true))
        }
    }

    /// Probes in flight for `timeout` or longer at `now`: they count as failed; the caller closes them.
    public mutating func expire(now: Duration) -> [Int] {
        let expired = inFlight.filter { now - $0.value >= timeout }.map(\.key).sorted()
        for id in expired { settle(id, .failure("no answer within \(Int(timeout.milliseconds.rounded())) ms")) }
        return expired
    }

    /// How long the prober may wait for socket events before it has something to do.
    public func wait(now: Duration) -> Duration {
        var until = nextStart
        if let oldest = inFlight.values.min() { until = min(until, oldest + timeout) }
        return max(.zero, until - now)
    }

    /// Probes finish out of order (a timeout settles long after later successes): keep samples
    /// sorted by start, searching from the end where a new sample almost always belongs.
    private mutating func insert(_ sample: ProbeSample) {
        var index = samples.count
        while index > 0 && samples[index - 1].at > sample.at { index -= 1 }
        samples.insert(sample, at: index)
    }
}

/// How one probe ended.
public enum ProbeOutcome: Sendable, Equatable {
    case success
    case failure(String)
}
