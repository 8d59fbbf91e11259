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

    init(_ settings: GARPConfig) { self.settings = settings }

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

    /// The rounds due at `now` (every overdue burst round counts once; a due refresh once more),
    /// with the refresh re-armed.
    mutating func fire(now: UInt64) -> Int {
        var rounds = 0
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
    }

    var nextDeadline: UInt64? {
        switch (due.first, refreshDue) {
        case (let a?, let b?): min(a, b)
        case (let a?, nil): a
        case (nil, let b): b
        }
    }
}
