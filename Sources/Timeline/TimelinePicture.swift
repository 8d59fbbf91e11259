/// What a timeline picture shows: one or more lanes (rounds of a failover, or one run of a
/// multi-step operation), each with its probes and the moments that explain them. Times are
/// offsets from the lane's own origin (the fault, or the operation's start), so lanes drawn one
/// above the other line up at zero. Plain values: `TimelineSVG.render` turns them into text.
public struct TimelinePicture: Sendable, Equatable {
    public var title: String
    /// One line under the title: what was probed, how often.
    public var subtitle: String?
    public var lanes: [TimelineLane]
    /// Figures over the whole picture (medians, totals), shown in the legend.
    public var figures: [TimelineFigure]
    /// A stretch drawn again under each lane at its own scale: an outage of a few milliseconds
    /// in a run of seconds is narrower than a pixel on the whole-run axis.
    public var detail: ClosedRange<Duration>?

    public init(title: String, subtitle: String? = nil, lanes: [TimelineLane], figures: [TimelineFigure] = [],
                detail: ClosedRange<Duration>? = nil) {
        self.title = title
        self.subtitle = subtitle
        self.lanes = lanes
        self.figures = figures
        self.detail = detail
    }
}

/// One round (or one run): its probes, markers, steps and figures.
public struct TimelineLane: Sendable, Equatable {
    /// "round 1: graceful failure of node1".
    public var label: String
    /// The lane's own figures (downtime, failback downtime, failed probes), shown beside its label.
    public var figures: [TimelineFigure]
    public var probes: [TimelineProbe]
    public var markers: [TimelineMarker]
    /// Steps of a multi-step operation, drawn as bands behind the probes.
    public var steps: [TimelineStep]
    /// Measured stretches (an outage), drawn as a bracket under the probes.
    public var spans: [TimelineSpan]
    /// Said in the lane when something kept it from being measured ("no probe log: ...").
    public var note: String?

    public init(label: String, figures: [TimelineFigure] = [], probes: [TimelineProbe] = [], markers: [TimelineMarker] = [],
                steps: [TimelineStep] = [], spans: [TimelineSpan] = [], note: String? = nil) {
        self.label = label
        self.figures = figures
        self.probes = probes
        self.markers = markers
        self.steps = steps
        self.spans = spans
        self.note = note
    }
}

public struct TimelineProbe: Sendable, Equatable {
    /// When the probe started, from the lane's origin (negative before the fault).
    public var at: Duration
    /// What was probed: "tcp", "https". Each kind gets its own row of successes.
    public var kind: String
    public var outcome: ProbeMark

    public init(at: Duration, kind: String, outcome: ProbeMark) {
        self.at = at
        self.kind = kind
        self.outcome = outcome
    }
}

public enum ProbeMark: Sendable, Equatable {
    case success
    /// The class picks the row, colour and shape; the reason is the prober's own words.
    case failure(ProbeFailure, reason: String)
}

/// Why probes fail, in as many classes as a reader tells apart at a glance.
public enum ProbeFailure: String, Sendable, CaseIterable {
    case refused
    case timeout
    case reset
    case tls
    case http
    case other

    /// Row label and legend text.
    public var title: String {
        switch self {
        case .refused: "refused"
        case .timeout: "timeout"
        case .reset: "reset/closed"
        case .tls: "TLS error"
        case .http: "HTTP error"
        case .other: "other error"
        }
    }
}

public enum MarkerKind: String, Sendable, CaseIterable {
    case fault
    case stepStart = "step"
    case detection
    case takeover
    case restore
    case failback
}

/// A moment in the lane: the fault, the new master seen, the restore...
public struct TimelineMarker: Sendable, Equatable {
    public var at: Duration
    public var kind: MarkerKind
    /// "node2 holds the VIP"; the picture adds the offset.
    public var label: String

    public init(at: Duration, kind: MarkerKind, label: String) {
        self.at = at
        self.kind = kind
        self.label = label
    }
}

/// One step of a multi-step operation (an upgrade of one host, a restart...).
public struct TimelineStep: Sendable, Equatable {
    public var name: String
    public var host: String
    public var start: Duration
    public var end: Duration

    public init(name: String, host: String, start: Duration, end: Duration) {
        self.name = name
        self.host = host
        self.start = start
        self.end = end
    }
}

public struct TimelineSpan: Sendable, Equatable {
    public var start: Duration
    public var end: Duration
    /// "downtime 247.4 ms".
    public var label: String

    public init(start: Duration, end: Duration, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }
}

public struct TimelineFigure: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
