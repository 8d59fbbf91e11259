import VRRPConfig
/// One tracked check's hysteresis: `fall` failures in a row make it fail, `rise` successes in a
/// row make it good again. Before its first result a check counts as failing, so an instance
/// with a weight-0 check does not take the VIP before the check has passed once.
struct CheckHysteresis: Equatable {
    let rise: Int
    let fall: Int
    private(set) var isGood = false
    private(set) var hasResult = false
    private var streak = 0

    init(rise: Int, fall: Int) {
        self.rise = rise
        self.fall = fall
    }

    /// A check whose status is already known (carried over a restart in place).
    init(rise: Int, fall: Int, known good: Bool) {
        self.init(rise: rise, fall: fall)
        isGood = good
        hasResult = true
    }

    /// Records one result; returns true when the check's status changed.
    mutating func record(success: Bool) -> Bool {
        if !hasResult {
            hasResult = true
            isGood = success
            streak = 0
            return success  // it was already counted as failing
        }
        if success == isGood {
            streak = 0
            return false
        }
        streak += 1
        if streak >= (success ? rise : fall) {
            isGood = success
            streak = 0
            return true
        }
        return false
    }
}

/// The priority an instance advertises given its tracked checks, as keepalived computes it:
/// a failing weight-0 check (or a down tracked interface) puts it in FAULT; positive weights
/// add while good, negative weights add while failing; the result stays in 1...254. An address
/// owner (255) keeps 255 unless in FAULT.
struct TrackedPriority: Equatable {
    var fault: Bool
    var priority: UInt8
    var reason: String

    static func compute(base: UInt8, checks: [(name: String, good: Bool, weight: Int)],
                        downInterfaces: [String]) -> TrackedPriority {
        if let link = downInterfaces.first {
            return TrackedPriority(fault: true, priority: base, reason: "interface \(link) is down")
        }
        if let failed = checks.first(where: { !$0.good && $0.weight == 0 }) {
            return TrackedPriority(fault: true, priority: base, reason: "check \(failed.name) failing")
        }
        if base == 255 { return TrackedPriority(fault: false, priority: 255, reason: "address owner") }
        var p = Int(base)
        var reasons: [String] = []
        for c in checks where c.weight != 0 {
            if c.weight > 0, c.good {
                p += c.weight
                reasons.append("\(c.name) +\(c.weight)")
            } else if c.weight < 0, !c.good {
                p += c.weight
                reasons.append("\(c.name) \(c.weight)")
            }
        }
        return TrackedPriority(fault: false, priority: UInt8(min(254, max(1, p))),
                               reason: reasons.isEmpty ? "all checks good" : reasons.joined(separator: ", "))
    }
}
