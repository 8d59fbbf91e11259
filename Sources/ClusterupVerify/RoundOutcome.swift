import ClusterupCore

/// Whether a round's probe log measures a disruption that really happened and was really undone.
/// Only a measured round may enter a figure: a round where nothing was broken would report the
/// probe's quiet as "0.0 ms downtime", and one left broken would report a recovery that did not
/// happen. Not failover-specific: any operation that disrupts a node while the prober watches
/// (an upgrade step, a rotation) ends in one of these.
public enum RoundOutcome: Sendable, Equatable {
    /// The disruption took effect and was undone: the figures count (the round may still fail
    /// on its problems, e.g. no new master or a downtime over the limit).
    case measured
    /// Nothing was broken, or not verifiably: the node was not ready, the command failed or
    /// exceeded its time limit, or its effect never showed. Nothing to measure.
    case faultNotInjected(String)
    /// The disruption took effect but undoing it failed or exceeded its time limit: the log ends
    /// on a cluster that may still be broken, so no recovery figure can be trusted.
    case restoreFailed(String)
    /// Ctrl-C or SIGTERM cut the round short; the node was restored, the figures are partial.
    case interrupted

    public var isMeasured: Bool { self == .measured }

    /// Stable name for JSON.
    public var code: String {
        switch self {
        case .measured: "measured"
        case .faultNotInjected: "fault_not_injected"
        case .restoreFailed: "restore_failed"
        case .interrupted: "interrupted"
        }
    }

    /// Why the round measured nothing; nil when it measured.
    public var reason: String? {
        switch self {
        case .measured: nil
        case .faultNotInjected(let why): "fault not injected: \(why)"
        case .restoreFailed(let why): "restore failed: \(why)"
        case .interrupted: "interrupted before the round ended"
        }
    }
}

/// When the round's events happened, on the prober's clock (the one its samples use), so a
/// report or a picture can place them against the probe log. nil: the event did not happen.
public struct RoundMarkers: Sendable, Equatable {
    /// The fault command was sent (or the node was powered off).
    public var fault: Duration?
    /// Another node was first seen holding the VIP.
    public var takeover: Duration?
    /// The restore command was sent.
    public var restore: Duration?
    /// After the restore, the VIP was first seen where the configuration puts it (polled over SSH).
    public var placed: Duration?

    public init(fault: Duration? = nil, takeover: Duration? = nil, restore: Duration? = nil, placed: Duration? = nil) {
        self.fault = fault
        self.takeover = takeover
        self.restore = restore
        self.placed = placed
    }

    public var json: JSONValue {
        .object([
            ("fault_ms", fault.map { .double($0.milliseconds.rounded3) } ?? .null),
            ("takeover_ms", takeover.map { .double($0.milliseconds.rounded3) } ?? .null),
            ("restore_ms", restore.map { .double($0.milliseconds.rounded3) } ?? .null),
            ("placed_ms", placed.map { .double($0.milliseconds.rounded3) } ?? .null),
        ])
    }
}
