// No Foundation: clusterup-vrrpd links this, and the static daemon carries no Foundation, so the
// blank trimming below is our own instead of Foundation's trimmingCharacters(in: .whitespaces).

/// Durations as clusterup spells them: one grammar for the inventory and for clusterup-vrrpd's
/// configuration (which deploy renders from the inventory), and one set of conversions.
extension Duration {
    public static func hours(_ hours: Int) -> Duration { .seconds(hours * 3600) }
    public static func days(_ days: Int) -> Duration { .seconds(days * 86_400) }

    /// The units, longest suffix first so "ms" is not read as "m".
    static let textUnits: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Parses the duration syntax: a whole number and a unit, e.g. "100ms", "1s", "5m", "8760h",
    /// "365d"; "0" alone is zero; blanks around it are ignored. Returns nil for anything else
    /// (a bare number has no unit, so no meaning; "1.5s" and "-1s" are not whole numbers).
    public init?(inventoryText text: String) {
        let text = Self.trimmingBlanks(text)
        if text == "0" { self = .zero; return }
        guard let unit = Self.textUnits.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let digits = text.dropLast(unit.suffix.count)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int64(digits) else { return nil }
        let (milliseconds, overflow) = value.multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow else { return nil }
        self = .milliseconds(milliseconds)
    }

    /// The shortest exact spelling: "100ms", "1s", "30d". Sub-millisecond parts are dropped.
    public var inventoryText: String {
        let milliseconds = totalMilliseconds
        if milliseconds == 0 { return "0s" }
        for unit in Self.textUnits.reversed() where milliseconds % unit.milliseconds == 0 {
            return "\(milliseconds / unit.milliseconds)\(unit.suffix)"
        }
        return "\(milliseconds)ms"
    }

    /// Whole milliseconds, truncated.
    public var totalMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Fractional milliseconds, for reports.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// Seconds as a Double, for display and arithmetic with timeouts.
    public var totalSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole nanoseconds for a monotonic clock's arithmetic, negative durations clamped to zero.
    public var wholeNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    /// Blanks as Foundation's `.whitespaces` has them: tab and the Unicode space separators (Zs,
    /// a fixed set of 17).
    private static func trimmingBlanks(_ text: String) -> Substring {
        func isBlank(_ c: Character) -> Bool {
            c.unicodeScalars.allSatisfy {
                switch $0.value {
                case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: true
                default: false
                }
            }
        }
        var trimmed = Substring(text)
        while let first = trimmed.first, isBlank(first) { trimmed.removeFirst() }
        while let last = trimmed.last, isBlank(last) { trimmed.removeLast() }
        return trimmed
    }
}
