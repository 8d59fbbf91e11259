/// A point on the daemon's monotonic clock, in nanoseconds. The router never reads a clock: every
/// event comes with `now`, so tests and simulations control time exactly.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    public func advanced(byNanoseconds delta: UInt64) -> Instant { Instant(nanoseconds: nanoseconds + delta) }

    /// Nanoseconds from `earlier` to `self`, zero if `earlier` is later.
    public func nanoseconds(since earlier: Instant) -> UInt64 {
        nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public var description: String { formatNanoseconds(nanoseconds) }
}

public let nanosecondsPerCentisecond: UInt64 = 10_000_000

/// "1.234567s": six decimals, enough to read microsecond skews in logs.
func formatNanoseconds(_ nanoseconds: UInt64) -> String {
    let micros = (nanoseconds / 1_000) % 1_000_000
    let digits = String(micros)
    return "\(nanoseconds / 1_000_000_000).\(String(repeating: "0", count: 6 - digits.count))\(digits)s"
}
