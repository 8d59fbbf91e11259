import ClusterupCore
import ClusterupVerify
import Timeline

/// What one prober saw during a stretch.
public struct ProbeCounts: Sendable, Equatable, Codable {
    public var probes: Int
    public var failed: Int
    /// The longest run of failures, from the last answer before it to the first after it (ms); 0 when none failed.
    public var longestGapMilliseconds: Double

    /// Why probes failed ("connect: Connection refused", "no answer within 1000 ms") → how many.
    public var reasons: [String: Int]

    public init(probes: Int = 0, failed: Int = 0, longestGapMilliseconds: Double = 0, reasons: [String: Int] = [:]) {
        self.probes = probes
        self.failed = failed
        self.longestGapMilliseconds = longestGapMilliseconds
        self.reasons = reasons
    }

    public init(_ log: ProbeLog) {
        self.init(probes: log.samples.count, failed: log.failedProbes, longestGapMilliseconds: log.downtimeMilliseconds,
                  reasons: Dictionary(uniqueKeysWithValues: log.failureReasons.map { ($0.reason, $0.count) }))
    }

    /// Two stretches together: counts add up, the longest gap is the longer one.
    public func merged(with other: ProbeCounts) -> ProbeCounts {
        ProbeCounts(probes: probes + other.probes, failed: failed + other.failed,
                    longestGapMilliseconds: max(longestGapMilliseconds, other.longestGapMilliseconds),
                    reasons: reasons.merging(other.reasons, uniquingKeysWith: +))
    }

    enum CodingKeys: String, CodingKey {
        case probes, failed, reasons, longestGapMilliseconds = "longest_gap_ms"
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

    /// Each step's window (a step of the timeline picture: name, host, start, end on the watch's
    /// clock) cut out of the probe logs; the totals from the whole logs.
    public static func make(probes: [String], steps: [TimelineStep], tcp: ProbeLog?, readyz: ProbeLog?) -> AvailabilityReport {
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
            counts.map { counts in
                "\(name) \(counts.failed)/\(counts.probes) failed" + (counts.failed == 0 ? "" : ", longest gap \(Self.ms(counts.longestGapMilliseconds)) ("
                    + counts.reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ") + ")")
            }
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

extension AvailabilityReport {
    /// The report in the project's JSON writer (the same keys as its Codable form).
    public var json: JSONValue {
        func counts(_ counts: ProbeCounts?) -> JSONValue {
            guard let counts else { return .null }
            return .object([("probes", .int(Int64(counts.probes))), ("failed", .int(Int64(counts.failed))),
                            ("longest_gap_ms", .double(counts.longestGapMilliseconds)),
                            ("reasons", .object(counts.reasons.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) }))])
        }
        return .object([
            ("probes", .strings(probes)),
            ("steps", .array(steps.map { step in
                .object([("step", .string(step.step)), ("host", .string(step.host)),
                         ("start_ms", .double(step.startMilliseconds)), ("end_ms", .double(step.endMilliseconds)),
                         ("tcp", counts(step.tcp)), ("readyz", counts(step.readyz))])
            })),
            ("tcp", counts(tcp)), ("readyz", counts(readyz)),
        ])
    }
}
