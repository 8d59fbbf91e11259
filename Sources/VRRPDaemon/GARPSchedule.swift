import VRRPConfig
import TextFormats

/// When a Master announces its VIPs (gratuitous ARP / unsolicited neighbour advertisement), as
/// keepalived schedules it: `repeat` rounds `interval` apart at takeover, the same again after
/// `delay`, then one round every `refresh`. Pure: times (the daemon's monotonic nanoseconds) in,
/// counts of rounds to send now out; the instance does the sending.
struct GARPSchedule: Equatable {
    private(set) var settings: GARPConfig
    /// Pending rounds, earliest first.
    private(set) var due: [UInt64] = []
    private(set) var refreshDue: UInt64?
    /// Rounds that could not be sent, due again at `retryDue`.
    private(set) var retryRounds = 0
    private(set) var retryDue: UInt64?
    /// Failed sends in a row; a round that goes out resets it.
    private(set) var failures = 0

    /// A round the kernel refused (ENOBUFS while an egress filter is being removed when a partition
    /// heals, a link coming back) is sent again this much later, up to `retryLimit` times in a row:
    /// 1 s in all, while the clients it is for still send to the other router.
    static let retryGap: UInt64 = 50_000_000
    static let retryLimit = 20

    init(_ settings: GARPConfig) { self.settings = settings }

    /// What happened to a failed send.
    enum Failure: Equatable {
        /// Sent again at `at`; `attempt` counts the failures in a row (1 for the first).
        case retry(attempt: Int, at: UInt64)
        /// `retryLimit` failures in a row: nothing more until the next burst, refresh or takeover.
        case gaveUp(attempts: Int)
    }

    /// `unsent` rounds (the failed one and those after it in the same wake-up) could not go out
    /// at `now`: plans them again unless the failures in a row reached `retryLimit`.
    mutating func failed(now: UInt64, unsent: Int) -> Failure {
        failures += 1
        guard failures <= Self.retryLimit else {
            let attempts = failures
            failures = 0
            retryRounds = 0
            retryDue = nil
            return .gaveUp(attempts: attempts)
        }
        retryRounds = max(retryRounds, unsent)
        let at = now + Self.retryGap
        retryDue = at
        return .retry(attempt: failures, at: at)
    }

    /// A round went out: the failures in a row end.
    mutating func sent() { failures = 0 }

    private var gap: UInt64 { settings.interval.wholeNanoseconds }

    /// Becoming Master: forgets what was pending, plans the takeover bursts and the refresh, and
    /// returns how many rounds go out now (rounds with no gap between them go out together).
    mutating func takeover(now: UInt64) -> Int {
        var planned: [UInt64] = []
        for k in 1..<max(1, settings.repeatCount) { planned.append(now + UInt64(k) * gap) }
        if settings.delay > .zero {
            let start = now + settings.delay.wholeNanoseconds
            for k in 0..<settings.repeatCount { planned.append(start + UInt64(k) * gap) }
        }
        let immediate = planned.filter { $0 <= now }.count
        due = planned.filter { $0 > now }.sorted()
        clearRetry()
        refreshDue = settings.refresh > .zero ? now + settings.refresh.wholeNanoseconds : nil
        return 1 + immediate
    }

    /// A re-announce (an address came back, a link returned): one burst merged into the pending
    /// rounds; the second burst and the refresh stay as they were. Returns the rounds to send now.
    mutating func burst(now: UInt64) -> Int {
        let extra = max(1, settings.repeatCount) - 1
        if gap == 0 { return 1 + extra }
        for k in 0..<extra { due.append(now + UInt64(k + 1) * gap) }
        due.sort()
        return 1
    }

    /// The rounds due at `now` (every overdue burst round counts once; a due refresh once more;
    /// a due retry its unsent rounds), with the refresh re-armed.
    mutating func fire(now: UInt64) -> Int {
        var rounds = 0
        if let retry = retryDue, retry <= now {
            rounds += retryRounds
            retryRounds = 0
            retryDue = nil
        }
        if let first = due.first, first <= now {
            due.removeAll { $0 <= now }
            rounds += 1
        }
        if let refresh = refreshDue, refresh <= now {
            rounds += 1
            refreshDue = now + settings.refresh.wholeNanoseconds
        }
        return rounds
    }

    /// A reload: pending rounds stay; later rounds and the refresh follow the new settings.
    mutating func adopt(_ settings: GARPConfig) { self.settings = settings }

    /// No longer Master: nothing more is announced.
    mutating func stop() {
        due.removeAll()
        refreshDue = nil
        clearRetry()
    }

    private mutating func clearRetry() {
        retryRounds = 0
        retryDue = nil
        failures = 0
    }

    var nextDeadline: UInt64? {
        earliest(earliest(due.first, refreshDue), retryDue)
    }
}
