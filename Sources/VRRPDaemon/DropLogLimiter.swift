/// One log line per drop reason per period (10 s): a misconfigured peer must not flood the journal.
struct DropLogLimiter {
    static let period: UInt64 = 10_000_000_000
    private var lastLogged: [String: UInt64] = [:]

    /// Whether a drop for `reason` at `now` is logged (and starts a new period). An event handled
    /// as of an earlier arrival than the last line's is inside that line's period.
    mutating func allows(_ reason: String, now: UInt64) -> Bool {
        if let last = lastLogged[reason], now < last + Self.period { return false }
        lastLogged[reason] = now
        return true
    }
}
