import ClusterupCore
import ClusterupVerify
import Foundation
import Timeline

/// Probes through the VIP for the whole of a rollout with `verify failover`'s prober — TCP
/// connects, and HTTPS GET /readyz verified against the cluster CA — each on its own thread, and
/// cuts the logs into the steps the rollout marks. The answer is an `AvailabilityReport`, and a
/// timeline picture with one band per step.
public final class AvailabilityWatch: @unchecked Sendable {
    public struct Options: Sendable {
        public var target: ProbeTarget
        /// nil: TCP connects only (no cluster CA to verify the apiserver against).
        public var readyz: HTTPSProbe?
        /// A rollout takes minutes, not the seconds of a failover round: coarser than
        /// `verify failover`'s 2 ms, and timeouts long enough that a loaded machine's slow
        /// handshake is not counted as an outage.
        public var tcpInterval: Duration = .milliseconds(10)
        public var tcpTimeout: Duration = .milliseconds(1000)
        public var readyzInterval: Duration = .milliseconds(50)
        public var readyzTimeout: Duration = .milliseconds(2000)

        public init(target: ProbeTarget, readyz: HTTPSProbe?) {
            self.target = target
            self.readyz = readyz
        }
    }

    public let options: Options
    let tcp: Prober
    let readyz: Prober?
    private let lock = NSLock()
    private var closed: [TimelineStep] = []
    private var open: (name: String, host: String, start: Duration)?
    private var finished: AvailabilityReport?

    public init(_ options: Options) {
        self.options = options
        tcp = Prober(target: options.target, kind: .tcp, interval: options.tcpInterval, timeout: options.tcpTimeout)
        readyz = options.readyz.map {
            Prober(target: options.target, kind: .https($0), interval: options.readyzInterval, timeout: options.readyzTimeout)
        }
    }

    /// "tcp 198.51.100.62:8443", "https://198.51.100.62:8443/readyz".
    public var probes: [String] { [tcp.description] + (readyz.map { [$0.description] } ?? []) }

    /// Time on the watch's clock.
    public var now: Duration { tcp.now }

    /// Starts probing and returns once every probe succeeds steadily: a rollout must not start
    /// on a VIP that already fails (its figures would mean nothing, and the cluster is not
    /// healthy enough to roll). Blocking: call it from a dedicated thread.
    public func start(baseline: Duration = .seconds(10)) throws(ClusterupError) {
        try startInOutage()
        let steady = Duration.milliseconds(500)
        let deadline = now + baseline
        while now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            if probers.allSatisfy({ FailoverRunner.steady($0.log, now: $0.now, over: steady) }) { return }
        }
        let failing = probers.first { !FailoverRunner.steady($0.log, now: $0.now, over: steady) } ?? tcp
        let log = failing.log
        _ = stop()
        throw .remote("the probe \(failing) does not succeed steadily before the rollout (\(log.failedProbes) of \(log.samples.count) probes failed"
                      + (failing.lastFailure.map { ", last: \($0)" } ?? "") + ")",
                      hint: FailoverRunner.baselineHint(failing.lastFailure, kind: failing.kind))
    }

    /// Starts probing without waiting for the VIP to answer: for an operation that is the cure
    /// of an outage (`etcd recover` after a lost quorum), whose report says when the API came
    /// back (`returns`). Blocking (name lookup): call it from a dedicated thread.
    public func startInOutage() throws(ClusterupError) {
        try tcp.start()
        do {
            try readyz?.start()
        } catch {
            _ = tcp.stop()
            throw error
        }
    }

    var probers: [Prober] { [tcp] + (readyz.map { [$0] } ?? []) }

    /// Ends the step in progress (if any) and opens the next one.
    public func mark(step: String, host: String) {
        let at = now
        lock.withLock {
            if let open { closed.append(TimelineStep(name: open.name, host: open.host, start: open.start, end: at)) }
            open = (step, host, at)
        }
    }

    /// Ends the step in progress: time after it belongs to no step (but to the totals).
    public func endStep() {
        let at = now
        lock.withLock {
            if let open { closed.append(TimelineStep(name: open.name, host: open.host, start: open.start, end: at)) }
            open = nil
        }
    }

    /// The steps closed so far.
    public var steps: [TimelineStep] { lock.withLock { closed } }

    /// Stops probing (once) and returns the report.
    public func finish() -> AvailabilityReport {
        endStep()
        if let finished = lock.withLock({ finished }) { return finished }
        let logs = stop()
        let report = AvailabilityReport.make(probes: probes, steps: steps, tcp: logs.tcp, readyz: logs.readyz)
        lock.withLock { finished = report }
        return report
    }

    /// When each probe answered again and whether it kept answering (stops the watch).
    public func returns() -> [AvailabilityReturn] {
        _ = finish()
        let (tcpLog, readyzLog) = stop()
        let steps = steps
        return [AvailabilityReturn.read(tcpLog, probe: "tcp", steps: steps)]
            + (readyzLog.map { [AvailabilityReturn.read($0, probe: "readyz", steps: steps)] } ?? [])
    }

    private var logs: (tcp: ProbeLog, readyz: ProbeLog?)?

    private func stop() -> (tcp: ProbeLog, readyz: ProbeLog?) {
        if let logs = lock.withLock({ logs }) { return logs }
        let result = (tcp.stop(), readyz?.stop())
        lock.withLock { logs = result }
        return result
    }

    /// The run as a timeline: one lane, both probes' rows, a band per step. After `finish`.
    public func picture(title: String) -> TimelinePicture {
        let report = finish()
        let (tcpLog, readyzLog) = stop()
        var probes: [TimelineProbe] = []
        for (log, kind) in [(tcpLog, "tcp"), (readyzLog, "readyz")] {
            guard let log else { continue }
            probes += log.samples.map { sample in
                TimelineProbe(at: sample.at, kind: kind,
                              outcome: sample.ok ? .success : .failure(FailoverTimeline.failureClass(sample.failure), reason: sample.failure ?? "unknown"))
            }
        }
        var figures = [TimelineFigure("failed tcp", "\(report.tcp?.failed ?? 0) of \(report.tcp?.probes ?? 0)")]
        if let readyz = report.readyz { figures.append(TimelineFigure("failed readyz", "\(readyz.failed) of \(readyz.probes)")) }
        let lane = TimelineLane(
            label: "\(report.steps.count) step\(report.steps.count == 1 ? "" : "s")",
            probes: probes,
            steps: steps,
            spans: (tcpLog.outages + (readyzLog?.outages ?? [])).map {
                TimelineSpan(start: $0.start, end: $0.end, label: "gap \(FailoverRound.ms($0.duration))")
            })
        return TimelinePicture(
            title: title,
            subtitle: self.probes.joined(separator: ", ") + "; tcp every \(FailoverRound.ms(options.tcpInterval)), readyz every \(FailoverRound.ms(options.readyzInterval)); time from the start",
            lanes: [lane], figures: figures)
    }
}
