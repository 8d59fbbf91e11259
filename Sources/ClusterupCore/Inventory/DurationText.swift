import Foundation

extension Duration {
    public static func hours(_ hours: Int) -> Duration { .seconds(hours * 3600) }
    public static func days(_ days: Int) -> Duration { .seconds(days * 86_400) }

    /// Units accepted in the inventory, longest suffix first so "ms" is not read as "m".
    static let inventoryUnits: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Parses the inventory's duration syntax: a whole number and a unit, e.g. "100ms", "1s", "5m",
    /// "8760h", "365d"; "0" alone is zero. Returns nil for anything else.
    public init?(inventoryText text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text == "0" { self = .zero; return }
        guard let unit = Self.inventoryUnits.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let digits = text.dropLast(unit.suffix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int64(digits) else { return nil }
        let (milliseconds, overflow) = value.multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow else { return nil }
        self = .milliseconds(milliseconds)
    }

    /// The shortest exact inventory spelling: "100ms", "1s", "30d". Sub-millisecond parts are dropped.
    public var inventoryText: String {
        let milliseconds = totalMilliseconds
        if milliseconds == 0 { return "0s" }
        for unit in Self.inventoryUnits.reversed() where milliseconds % unit.milliseconds == 0 {
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
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
