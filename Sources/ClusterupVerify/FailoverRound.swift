import ClusterupCore

/// How `verify failover` breaks the master.
public enum FailureMode: String, Sendable, CaseIterable {
    /// Stop the VRRP service: it resigns (priority 0) and removes the VIP.
    case graceful
    /// Kill the daemon with SIGKILL and keep its VIP from answering: no resignation.
    case crash
    /// Cut the master from the network for a while with a firewall rule that removes itself.
    case network
    /// Stop HAProxy on the master: health tracking must move the VIP.
    case service
}

/// What a node runs and holds, before and after a round: the round must leave it as it found it.
public struct NodeState: Sendable, Equatable {
    /// Unit → active?
    public var services: [String: Bool]
    public var holdsVIP: Bool

    public init(services: [String: Bool], holdsVIP: Bool) {
        self.services = services
        self.holdsVIP = holdsVIP
    }

    /// What differs from `before`, in words; empty when the node is back as it was.
    public func differences(from before: NodeState) -> [String] {
        var result: [String] = []
        for unit in Set(before.services.keys).union(services.keys).sorted() {
            let was = before.services[unit] ?? false, now = services[unit] ?? false
            if was != now { result.append("\(unit) was \(was ? "active" : "inactive"), now \(now ? "active" : "inactive")") }
        }
        if before.holdsVIP != holdsVIP {
            result.append(before.holdsVIP ? "held the VIP before, not after" : "holds the VIP now, did not before")
        }
        return result
    }
}

/// Where the VIP belongs once every node is healthy again.
public enum VIPPlacement {
    /// With preempt, the highest priority; RFC 5798 §6.4.3 breaks a tie by the higher primary
    /// IPv4 address. Without preempt whoever holds it keeps it: nil means "any single holder".
    public static func expectedHolder(priorities: [String: Int], addresses: [String: String], preempt: Bool) -> String? {
        guard preempt, !priorities.isEmpty else { return nil }
        return priorities.max { lhs, rhs in
            if lhs.value != rhs.value { return lhs.value < rhs.value }
            return ipv4Number(addresses[lhs.key]) < ipv4Number(addresses[rhs.key])
        }?.key
    }

    static func ipv4Number(_ address: String?) -> UInt32 {
        let parts = (address ?? "").split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4 else { return 0 }
        return parts.reduce(0) { $0 << 8 | $1 }
    }
}

/// The outcome of one failover round.
public struct FailoverRound: Sendable, Equatable {
    public var index: Int
    public var mode: FailureMode
    public var oldMaster: String
    /// The first other node seen holding the VIP after the fault.
    public var newMaster: String?
    /// Fault injected → new master seen holding the VIP (polled; resolution is the poll period).
    public var detection: Duration?
    /// Longest run of failed probes through the VIP from the fault until restore: the takeover.
    public var outage: Outage?
    /// Longest run of failed probes after restore, while the VIP returns (preempt) or settles.
    public var failbackOutage: Outage?
    public var probes: Int
    public var failedProbes: Int
    /// Probes that succeeded in the round before the fault, and after the restore: a round whose
    /// probe never worked measures nothing.
    public var succeededBeforeFault: Int = 0
    public var succeededAfterRestore: Int = 0
    /// Median and longest time between probe starts in the round: the resolution of its figures.
    public var probeSpacing: ProbeSpacing?
    /// Failed probes of the round by reason, most frequent first.
    public var failureReasons: [FailureCount] = []
    /// Holder after restore, and where the configuration says it belongs (nil: any one holder).
    public var holderAfter: [String]
    public var expectedHolder: String?
    /// Differences of the faulted node from its pre-test state, after restore.
    public var notRestored: [String]
    /// A failure of the round itself (fault could not be injected, no new master...).
    public var error: String?
    /// The round's probe log and moments on the prober's clock, for `--plot`; nil when no fault ran.
    public var trace: RoundTrace?

    public init(index: Int, mode: FailureMode, oldMaster: String, newMaster: String? = nil, detection: Duration? = nil,
                outage: Outage? = nil, failbackOutage: Outage? = nil, probes: Int = 0, failedProbes: Int = 0, holderAfter: [String] = [],
                expectedHolder: String? = nil, notRestored: [String] = [], error: String? = nil) {
        self.index = index
        self.mode = mode
        self.oldMaster = oldMaster
        self.newMaster = newMaster
        self.detection = detection
        self.outage = outage
        self.failbackOutage = failbackOutage
        self.probes = probes
        self.failedProbes = failedProbes
        self.holderAfter = holderAfter
        self.expectedHolder = expectedHolder
        self.notRestored = notRestored
        self.error = error
    }

    /// Client downtime of the takeover.
    public var downtime: Duration { outage?.duration ?? .zero }
    public var failbackDowntime: Duration { failbackOutage?.duration ?? .zero }
    /// The worst a client saw in the round.
    public var worstDowntime: Duration { max(downtime, failbackDowntime) }

    /// Splits a round's probe log at the moment of restore: outages that began before it belong
    /// to the takeover, the others to the failback.
    public static func outages(_ log: ProbeLog, restoredAt: Duration) -> (takeover: Outage?, failback: Outage?) {
        let all = log.outages
        let takeover = all.filter { $0.start < restoredAt }.max { $0.duration < $1.duration }
        let failback = all.filter { $0.start >= restoredAt }.max { $0.duration < $1.duration }
        return (takeover, failback)
    }

    /// "returned to node1 (preempt)", "stayed on node2"...
    public var failback: String {
        guard holderAfter.count == 1 else { return holderAfter.isEmpty ? "no holder" : "split brain" }
        let holder = holderAfter[0]
        if holder == oldMaster { return "returned to \(holder)" }
        return "stayed on \(holder)"
    }

    /// Everything wrong with this round; empty when it passed.
    public func problems(maxDowntime: Duration?) -> [String] {
        var result: [String] = []
        if let error { result.append(error) }
        if holderAfter.count > 1 { result.append("split brain after restore: \(holderAfter.joined(separator: ", "))") }
        if holderAfter.isEmpty { result.append("no node holds the VIP after restore") }
        if let expectedHolder, holderAfter.count == 1, holderAfter[0] != expectedHolder {
            result.append("VIP on \(holderAfter[0]), configured placement is \(expectedHolder)")
        }
        if let maxDowntime, downtime > maxDowntime {
            result.append("downtime \(Self.ms(downtime)) exceeds --max-downtime \(Self.ms(maxDowntime))")
        }
        if let maxDowntime, failbackDowntime > maxDowntime {
            result.append("failback downtime \(Self.ms(failbackDowntime)) exceeds --max-downtime \(Self.ms(maxDowntime))")
        }
        if outage?.recovered == false || failbackOutage?.recovered == false {
            result.append("the VIP did not answer again before the round ended")
        }
        result += notRestored.map { "\(oldMaster) not restored: \($0)" }
        return result
    }

    public func row(maxDowntime: Duration?) -> [String] {
        let problems = problems(maxDowntime: maxDowntime)
        return [
            String(index), mode.rawValue, oldMaster, newMaster ?? "-", detection.map(Self.ms) ?? "-",
            Self.ms(downtime), Self.ms(failbackDowntime), "\(failedProbes)/\(probes)", failback, problems.isEmpty ? "ok" : problems.joined(separator: "; "),
        ]
    }

    public static let header = ["ROUND", "MODE", "OLD MASTER", "NEW MASTER", "DETECTION", "DOWNTIME", "FAILBACK DOWNTIME", "FAILED PROBES", "FAILBACK", "RESULT"]

    public func json(maxDowntime: Duration?) -> JSONValue {
        let problems = problems(maxDowntime: maxDowntime)
        return .object([
            ("round", .int(Int64(index))), ("mode", .string(mode.rawValue)), ("old_master", .string(oldMaster)),
            ("new_master", .optional(newMaster)), ("detection_ms", detection.map { .double($0.milliseconds.rounded3) } ?? .null),
            ("downtime_ms", .double(downtime.milliseconds.rounded3)),
            ("failback_downtime_ms", .double(failbackDowntime.milliseconds.rounded3)),
            ("recovered", .bool((outage?.recovered ?? true) && (failbackOutage?.recovered ?? true))),
            ("probes", .int(Int64(probes))), ("failed_probes", .int(Int64(failedProbes))),
            ("succeeded_before_fault", .int(Int64(succeededBeforeFault))), ("succeeded_after_restore", .int(Int64(succeededAfterRestore))),
            ("probe_spacing_median_ms", probeSpacing.map { .double($0.median.milliseconds.rounded3) } ?? .null),
            ("probe_spacing_max_ms", probeSpacing.map { .double($0.maximum.milliseconds.rounded3) } ?? .null),
            ("failures", .array(failureReasons.map { .object([("reason", .string($0.reason)), ("count", .int(Int64($0.count)))]) })),
            ("failback", .string(failback)), ("holders_after", .strings(holderAfter)),
            ("expected_holder", .optional(expectedHolder)), ("not_restored", .strings(notRestored)),
            ("ok", .bool(problems.isEmpty)), ("problems", .strings(problems)),
        ])
    }

    public static func ms(_ duration: Duration) -> String {
        String(format: "%.1f ms", duration.milliseconds)
    }
}

public struct FailureCount: Sendable, Equatable {
    public var reason: String
    public var count: Int

    public init(reason: String, count: Int) {
        self.reason = reason
        self.count = count
    }
}

/// Figures over all rounds.
public struct FailoverSummary: Sendable, Equatable {
    public var rounds: [FailoverRound]

    public init(_ rounds: [FailoverRound]) {
        self.rounds = rounds
    }

    public var medianDowntime: Duration? { Self.median(rounds.map(\.downtime)) }
    public var maximumDowntime: Duration? { rounds.map(\.worstDowntime).max() }
    public var medianFailbackDowntime: Duration? { Self.median(rounds.map(\.failbackDowntime)) }
    public var medianDetection: Duration? { Self.median(rounds.compactMap(\.detection)) }

    public static func median(_ values: [Duration]) -> Duration? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public func passed(maxDowntime: Duration?) -> Bool {
        rounds.allSatisfy { $0.problems(maxDowntime: maxDowntime).isEmpty }
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
}
