import Timeline

/// A round's probe log and the moments that frame it, on the prober's clock (what `--plot` draws:
/// the same samples the round's figures come from).
public struct RoundTrace: Sendable, Equatable {
    /// The round's window of the probe log, ordered by start.
    public var samples: [ProbeSample]
    /// The fault command was sent.
    public var injected: Duration
    /// The restore began.
    public var restored: Duration
    /// The VIP was first seen where the configuration puts it after the restore (polled over SSH).
    public var placed: Duration?

    public init(samples: [ProbeSample] = [], injected: Duration, restored: Duration, placed: Duration? = nil) {
        self.samples = samples
        self.injected = injected
        self.restored = restored
        self.placed = placed
    }
}

/// `verify failover`'s rounds as a timeline picture: one lane per round, aligned at the fault.
public enum FailoverTimeline {
    /// What the picture says about the run as a whole.
    public struct Context: Sendable {
        public var cluster: String
        public var mode: FailureMode
        /// "tcp", "https": the row the successes go in.
        public var probeKind: String
        /// "tcp 198.51.100.62:8443", as the prober describes itself.
        public var probe: String
        public var interval: Duration
        public var timeout: Duration

        public init(cluster: String, mode: FailureMode, probeKind: String, probe: String, interval: Duration, timeout: Duration) {
            self.cluster = cluster
            self.mode = mode
            self.probeKind = probeKind
            self.probe = probe
            self.interval = interval
            self.timeout = timeout
        }
    }

    public static func picture(_ rounds: [FailoverRound], context: Context) -> TimelinePicture {
        let summary = FailoverSummary(rounds)
        let probes = rounds.reduce(0) { $0 + $1.probes }, failed = rounds.reduce(0) { $0 + $1.failedProbes }
        var figures: [TimelineFigure] = []
        if let median = summary.medianDowntime { figures.append(TimelineFigure("median downtime", FailoverRound.ms(median))) }
        if let median = summary.medianFailbackDowntime { figures.append(TimelineFigure("median failback downtime", FailoverRound.ms(median))) }
        if let median = summary.medianDetection { figures.append(TimelineFigure("median detection", FailoverRound.ms(median))) }
        figures.append(TimelineFigure("failed probes", "\(failed) of \(probes)"))
        return TimelinePicture(
            title: "verify failover of \(context.cluster): \(context.mode.rawValue), \(rounds.count) round\(rounds.count == 1 ? "" : "s")",
            subtitle: "\(context.probe), a probe every \(FailoverRound.ms(context.interval)) (timeout \(FailoverRound.ms(context.timeout))); "
                + "time from the fault; a mark per probe, at its start",
            lanes: rounds.map { lane($0, context: context) },
            figures: figures,
            detail: detail(rounds))
    }

    /// When every outage is under a fortieth of the run (about 20 px: a graceful move costs a few
    /// milliseconds in seconds of log), the stretch from 50 ms before the fault to 50 ms after
    /// the last takeover is drawn again at its own scale.
    static func detail(_ rounds: [FailoverRound]) -> ClosedRange<Duration>? {
        let traced = rounds.filter { $0.trace.map { !$0.samples.isEmpty } ?? false }
        guard !traced.isEmpty else { return nil }
        let span = traced.map { round in round.trace!.samples.last!.at - round.trace!.samples.first!.at }.max()!
        let longest = traced.flatMap { [$0.outage?.duration, $0.failbackOutage?.duration].compactMap { $0 } }.max() ?? .zero
        guard longest * 40 < span else { return nil }
        let settled = traced.map { round in
            max(round.detection ?? .zero, round.outage.map { $0.end - round.trace!.injected } ?? .zero)
        }.max()!
        // Whole tens of milliseconds, so the detail's axis starts and ends on round numbers.
        let end = Duration.milliseconds(Int64(((settled + .milliseconds(50)).milliseconds / 10).rounded(.up)) * 10)
        return .milliseconds(-50) ... end
    }

    static func lane(_ round: FailoverRound, context: Context) -> TimelineLane {
        var lane = TimelineLane(
            label: "round \(round.index): \(round.mode.rawValue) failure of \(round.oldMaster)",
            figures: [
                TimelineFigure("downtime", FailoverRound.ms(round.downtime)),
                TimelineFigure("failback downtime", FailoverRound.ms(round.failbackDowntime)),
                TimelineFigure("failed probes", "\(round.failedProbes) of \(round.probes)"),
            ],
            note: round.error.map { "round failed: \($0)" })
        guard let trace = round.trace else {
            lane.note = (lane.note.map { $0 + "; " } ?? "") + "no probe log: no fault ran"
            return lane
        }
        let origin = trace.injected
        lane.probes = trace.samples.map { sample in
            TimelineProbe(at: sample.at - origin, kind: context.probeKind,
                          outcome: sample.ok ? .success : .failure(failureClass(sample.failure), reason: sample.failure ?? "unknown"))
        }
        lane.markers.append(TimelineMarker(at: .zero, kind: .fault, label: "\(round.mode.rawValue) fault on \(round.oldMaster)"))
        if let newMaster = round.newMaster, let detection = round.detection {
            lane.markers.append(TimelineMarker(at: detection, kind: .takeover, label: "VIP seen on \(newMaster)"))
        }
        lane.markers.append(TimelineMarker(at: trace.restored - origin, kind: .restore, label: "restore \(round.oldMaster)"))
        if let placed = trace.placed {
            let holder = round.holderAfter.count == 1 ? round.holderAfter[0] : (round.expectedHolder ?? "?")
            let label = holder == round.oldMaster ? "VIP seen back on \(holder)" : "VIP seen staying on \(holder)"
            lane.markers.append(TimelineMarker(at: placed - origin, kind: .failback, label: label))
        }
        if let outage = round.outage {
            lane.spans.append(TimelineSpan(start: outage.start - origin, end: outage.end - origin,
                                           label: "downtime \(FailoverRound.ms(outage.duration))" + (outage.recovered ? "" : " (not recovered)")))
        }
        if let outage = round.failbackOutage {
            lane.spans.append(TimelineSpan(start: outage.start - origin, end: outage.end - origin,
                                           label: "failback downtime \(FailoverRound.ms(outage.duration))" + (outage.recovered ? "" : " (not recovered)")))
        }
        return lane
    }

    /// The prober's reasons ("connect: Connection refused", "no answer within 30 ms", "HTTP 500",
    /// "TLS handshake: Connection reset by peer") by what a reader should see: the socket error
    /// under a TLS step counts as that error, not as TLS.
    public static func failureClass(_ reason: String?) -> ProbeFailure {
        guard let reason else { return .other }
        if reason.contains("Connection refused") { return .refused }
        if reason.hasPrefix("no answer within") || reason.contains("timed out") { return .timeout }
        if reason.contains("reset by peer") || reason.contains("closed the connection") || reason.contains("Broken pipe") { return .reset }
        if reason.hasPrefix("HTTP ") { return .http }
        if reason.hasPrefix("TLS") || reason.contains("certificate") { return .tls }
        return .other
    }
}
