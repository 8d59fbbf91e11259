import VRRPConfig

/// An instance's tracked checks, one value per check (its name as the status shows it, weight,
/// hysteresis and last detail), in the order the checkers report them: scripts, http, tcp.
/// Pure: results in, "did the status change" out; the instance logs and re-computes its priority.
struct CheckSet: Equatable {
    struct Check: Equatable {
        var name: String
        var weight: Int
        var hysteresis: CheckHysteresis
        var detail = "no result yet"
        var isGood: Bool { hysteresis.isGood }
    }

    private(set) var checks: [Check]

    init(_ track: TrackConfig) {
        let named = track.scripts.map { ("script:\($0.name)", $0.timing) }
            + track.http.map { ("http:\($0.url)", $0.timing) }
            + track.tcp.map { ("tcp:\($0.target)", $0.timing) }
        checks = named.map { name, timing in
            Check(name: name, weight: timing.weight, hysteresis: CheckHysteresis(rise: timing.rise, fall: timing.fall))
        }
    }

    /// Records a checker's result; returns the check when its status changed (nil otherwise, and
    /// for an index from an older generation of checkers).
    mutating func record(index: Int, ok: Bool, detail: String) -> Check? {
        guard checks.indices.contains(index) else { return nil }
        checks[index].detail = detail
        return checks[index].hysteresis.record(success: ok) ? checks[index] : nil
    }

    /// What `TrackedPriority.compute` weighs.
    var states: [(name: String, good: Bool, weight: Int)] {
        checks.map { (name: $0.name, good: $0.isGood, weight: $0.weight) }
    }
}
