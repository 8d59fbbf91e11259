import ClusterupVerify

/// A named stretch of a rollout on the watch's clock ("node2: kube-apiserver upgrade").
public struct StepWindow: Sendable, Equatable {
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

/// What one prober saw during a stretch.
public struct ProbeCounts: Sendable, Equatable, Codable {
    public var probes: Int
    public var failed: Int
    /// The longest run of failures, from the last answer before it to the first after it (ms); 0 when none failed.
    public var longestGapMilliseconds: Double

    public init(probes: Int = 0, failed: Int = 0, longestGapMilliseconds: Double = 0) {
        self.probes = probes
        self.failed = failed
        self.longestGapMilliseconds = longestGapMilliseconds
    }

    public init(_ log: ProbeLog) {
        self.init(probes: log.samples.count, failed: log.failedProbes, longestGapMilliseconds: log.downtimeMilliseconds)
    }

    /// Two stretches together: counts add up, the longest gap is the longer one.
    public func merged(with other: ProbeCounts) -> ProbeCounts {
        ProbeCounts(probes: probes + other.probes, failed: failed + other.failed,
                    longestGapMilliseconds: max(longestGapMilliseconds, other.longestGapMilliseconds))
    }

    enum CodingKeys: String, CodingKey {
        case probes, failed, longestGapMilliseconds = "longest_gap_ms"
    }
}

/// Availability through the VIP per step of a rollout, and over the whole run.
public struct StepAvailability: Sendable, Equatable, Codable {
    public var step: String
    public var host: String
    public var startMilliseconds: Double
    public var endMilliseconds: Double
    /// nil when that prober did not run (`tcp` always runs; `readyz` needs the cluster CA).
    public var tcp: ProbeCounts?
    public var readyz: ProbeCounts?

    public init(step: String, host: String, startMilliseconds: Double, endMilliseconds: Double, tcp: ProbeCounts?, readyz: ProbeCounts?) {
        self.step = step
        self.host = host
        self.startMilliseconds = startMilliseconds
        self.endMilliseconds = endMilliseconds
        self.tcp = tcp
        self.readyz = readyz
    }

    enum CodingKeys: String, CodingKey {
        case step, host, tcp, readyz, startMilliseconds = "start_ms", endMilliseconds = "end_ms"
    }
}

/// `--output json`'s `availability`: the probes, every step, and the totals of the whole run
/// (which includes the time between steps).
public struct AvailabilityReport: Sendable, Equatable, Codable {
    /// "tcp 198.51.100.62:8443", "https://198.51.100.62:8443/readyz".
    public var probes: [String]
    public var steps: [StepAvailability]
    public var tcp: ProbeCounts?
    public var readyz: ProbeCounts?

    public init(probes: [String], steps: [StepAvailability], tcp: ProbeCounts?, readyz: ProbeCounts?) {
        self.probes = probes
        self.steps = steps
        self.tcp = tcp
        self.readyz = readyz
    }

    /// Each step's window cut out of the probe logs; the totals from the whole logs.
    public static func make(probes: [String], steps: [StepWindow], tcp: ProbeLog?, readyz: ProbeLog?) -> AvailabilityReport {
        AvailabilityReport(
            probes: probes,
            steps: steps.map { window in
                StepAvailability(step: window.name, host: window.host,
                                 startMilliseconds: window.start.milliseconds, endMilliseconds: window.end.milliseconds,
                                 tcp: tcp.map { ProbeCounts($0.window(from: window.start, to: window.end)) },
                                 readyz: readyz.map { ProbeCounts($0.window(from: window.start, to: window.end)) })
            },
            tcp: tcp.map(ProbeCounts.init), readyz: readyz.map(ProbeCounts.init))
    }

    /// Failed probes of both kinds over the whole run.
    public var failedProbes: Int { (tcp?.failed ?? 0) + (readyz?.failed ?? 0) }

    /// The steps where any probe failed.
    public var disruptedSteps: [StepAvailability] {
        steps.filter { ($0.tcp?.failed ?? 0) + ($0.readyz?.failed ?? 0) > 0 }
    }

    /// Two runs of one operation (an interrupted run and the re-run that resumed it): the steps
    /// of both in order, the totals together.
    public func merged(with later: AvailabilityReport) -> AvailabilityReport {
        func add(_ a: ProbeCounts?, _ b: ProbeCounts?) -> ProbeCounts? {
            switch (a, b) {
            case let (a?, b?): a.merged(with: b)
            case let (a, b): a ?? b
            }
        }
        var probes = self.probes
        for probe in later.probes where !probes.contains(probe) { probes.append(probe) }
        return AvailabilityReport(probes: probes, steps: steps + later.steps, tcp: add(tcp, later.tcp), readyz: add(readyz, later.readyz))
    }

    /// One line per step and a total, for the text report.
    public var lines: [String] {
        func counts(_ name: String, _ counts: ProbeCounts?) -> String? {
            counts.map { "\(name) \($0.failed)/\($0.probes) failed" + ($0.failed > 0 ? ", longest gap \(Self.ms($0.longestGapMilliseconds))" : "") }
        }
        var lines = steps.map { step in
            "\(step.host): \(step.step): " + [counts("tcp", step.tcp), counts("readyz", step.readyz)].compactMap { $0 }.joined(separator: "; ")
        }
        lines.append("total: " + [counts("tcp", tcp), counts("readyz", readyz)].compactMap { $0 }.joined(separator: "; "))
        return lines
    }

    static func ms(_ value: Double) -> String {
        value < 10 ? "\((value * 10).rounded() / 10) ms" : "\(Int(value.rounded())) ms"
    }
}
