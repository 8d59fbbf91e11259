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
        checks = Self.ordered(track).map { name, _, timing in
            Check(name: name, weight: timing.weight, hysteresis: CheckHysteresis(rise: timing.rise, fall: timing.fall))
        }
    }

    /// Each check's status as an earlier image of the daemon last knew it (a restart in place);
    /// false when the counts differ (the configuration changed: nothing is carried over).
    mutating func adopt(good: [Bool]) -> Bool {
        guard good.count == checks.count else { return false }
        for n in checks.indices {
            checks[n].hysteresis = CheckHysteresis(rise: checks[n].hysteresis.rise, fall: checks[n].hysteresis.fall, known: good[n])
            checks[n].detail = good[n] ? "good before the restart in place" : "failing before the restart in place"
        }
        return true
    }

    /// The checkers to run for an instance's checks: a job's index is its check's in the set.
    static func jobs(_ track: TrackConfig, instance: Int) -> [CheckJob] {
        ordered(track).enumerated().map { index, check in
            CheckJob(instance: instance, index: index, name: check.name, kind: check.kind, timing: check.timing)
        }
    }

    /// Every check with its name as the status shows it, in the one order of the set and the jobs.
    private static func ordered(_ track: TrackConfig) -> [(name: String, kind: CheckJob.Kind, timing: CheckTiming)] {
        var all: [(name: String, kind: CheckJob.Kind, timing: CheckTiming)] = []
        for s in track.scripts { all.append(("script:\(s.name)", .script(s), s.timing)) }
        for h in track.http { all.append(("http:\(h.url)", .http(h), h.timing)) }
        for c in track.tcp { all.append(("tcp:\(c.target)", .tcp(c), c.timing)) }
        return all
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
