/// One failover round's decisions, apart from the SSH and the prober that carry them out: whom
/// the round breaks, when each of its phases ends, what its outcome is after each phase, and the
/// figures drawn from its part of the probe log. `FailoverRunner.round` asks the nodes and the
/// prober, and passes their answers through these. Pure: tested without nodes.
///
/// The phases of a round, in order:
/// 1. start: exactly one lb host holds the VIP (`start`);
/// 2. healthy: that master runs everything it should (`isHealthy`), waited for up to `deadline`;
/// 3. inject and watch: the fault goes in while the other lb hosts are watched for the VIP, until
///    `takeoverDeadline` (`afterInjection`);
/// 4. hold: the fault stays until `faultEnd` (the network mode heals itself then);
/// 5. restore: the fault is undone and the VIP must go where the configuration puts it
///    (`afterRestore`);
/// 6. settle: the probe answers steadily again, and the round's log is measured (`measure`).
public struct FailoverRoundPlan: Sendable, Equatable {
    public var index: Int
    public var mode: FailureMode
    /// The lb host that holds the VIP before the round: the one the fault breaks.
    public var master: String
    /// Where the VIP belongs once every node is healthy again (nil: any single holder).
    public var expectedHolder: String?
    /// How long the fault is kept: the network mode's cut (it heals itself after it), the hold otherwise.
    public var faultKept: Duration
    /// Longest wait for the master to be healthy, for a new master, and for the VIP after restore.
    public var deadline: Duration

    /// The round's log starts this long before the fault, so an outage that begins at once runs
    /// from the last success before it (the previous round ended with 500 ms of answers).
    public static let lead = Duration.milliseconds(300)

    /// What the start of a round found: a master to break, or a round that measured nothing.
    public enum Start: Sendable, Equatable {
        case plan(FailoverRoundPlan)
        case skipped(FailoverRound)
    }

    /// Exactly one lb host must hold the VIP before the round; otherwise it breaks nothing.
    public static func start(index: Int, options: FailoverOptions, holders: [String], lbHosts: [String],
                             expectedHolder: String?) -> Start {
        guard holders.count == 1, lbHosts.contains(holders[0]) else {
            var round = FailoverRound(index: index, mode: options.mode, oldMaster: holders.joined(separator: ","), holderAfter: holders)
            round.outcome = .faultNotInjected("expected one VIP holder before the round, found \(holders.count)")
            return .skipped(round)
        }
        return .plan(FailoverRoundPlan(
            index: index, mode: options.mode, master: holders[0], expectedHolder: expectedHolder,
            faultKept: options.mode == .network ? options.cut : options.hold, deadline: options.deadline))
    }

    /// A master whose every service is up: the previous round may have left HAProxy still
    /// re-checking backends, and the comparison after restore would then mean nothing.
    public static func isHealthy(_ state: NodeState?) -> Bool {
        state.map { $0.services.values.allSatisfy { $0 } } ?? false
    }

    /// The round before any fault: it names its master and where the VIP belongs.
    public var round: FailoverRound {
        FailoverRound(index: index, mode: mode, oldMaster: master, expectedHolder: expectedHolder)
    }

    /// The round when the master did not become healthy: nothing is broken. `unreadable` says why
    /// its state could not be read, when it could not.
    public func notHealthy(_ state: NodeState?, unreadable: String, holders: [String]) -> FailoverRound {
        let down = state.map { $0.services.filter { !$0.value }.keys.sorted().joined(separator: ", ") } ?? unreadable
        var result = round
        result.outcome = .faultNotInjected("\(master) is not healthy before the round (\(down)); not failing it")
        result.holderAfter = holders
        return result
    }

    /// When the phases after the fault end, on the prober's clock.
    public struct Schedule: Sendable, Equatable {
        /// The fault was sent.
        public var injected: Duration
        /// Where the round's part of the probe log begins.
        public var windowStart: Duration
        /// The last moment another node may be seen taking the VIP.
        public var takeoverDeadline: Duration
        /// When the fault is undone.
        public var faultEnd: Duration
    }

    public func schedule(injectedAt injected: Duration) -> Schedule {
        Schedule(injected: injected, windowStart: max(.zero, injected - Self.lead),
                 takeoverDeadline: injected + deadline, faultEnd: injected + faultKept)
    }

    /// The round once the fault went in (`injectionFailure` nil) or did not: a fault not seen in
    /// effect measured nothing; otherwise the first other holder seen is the new master, and
    /// none within the deadline is the round's error (unless Ctrl-C cut the watch short: the
    /// runner marks the round interrupted once the fault is undone).
    public func afterInjection(_ schedule: Schedule, injectionFailure: String?, takeover: (host: String, at: Duration)?,
                               cancelled: Bool) -> FailoverRound {
        var result = round
        result.markers.fault = schedule.injected
        if let injectionFailure {
            result.outcome = .faultNotInjected(injectionFailure)
            return result
        }
        if let takeover {
            result.newMaster = takeover.host
            result.detection = takeover.at - schedule.injected
            result.markers.takeover = takeover.at
        } else if !cancelled {
            result.error = "no other node took the VIP within \(deadline)"
        }
        return result
    }
}

extension FailoverRound {
    /// A failed restore of a measured round makes it measure nothing: the log would end on a
    /// node still broken. A round that measured nothing already keeps its first reason.
    public mutating func recordRestore(failure: String?) {
        guard let failure, outcome.isMeasured else { return }
        outcome = .restoreFailed(failure)
    }

    /// The round's figures from its part of the probe log: outages split at the restore, the
    /// probes that succeeded on either side of the disruption, the probe's spacing and why probes
    /// failed. `log` is the round's window of the prober's log; `restoredAt` nil: the fault never
    /// took effect, only the counts apply.
    public mutating func measure(_ log: ProbeLog, injected: Duration, restoredAt: Duration?) {
        self.log = log
        probes = log.samples.count
        failedProbes = log.failedProbes
        guard let restoredAt else { return }
        (outage, failbackOutage) = Self.outages(log, restoredAt: restoredAt)
        succeededBeforeFault = log.samples.count { $0.ok && $0.at <= injected }
        succeededAfterRestore = log.samples.count { $0.ok && $0.at >= restoredAt }
        probeSpacing = log.spacing
        failureReasons = log.failureReasons.map { FailureCount(reason: $0.reason, count: $0.count) }
    }
}
