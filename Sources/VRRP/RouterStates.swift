// What each state knows, one struct per state; a transition builds the next from what it needs.

struct InitializeState: Sendable, Hashable {}

struct BackupState: Sendable, Hashable {
    /// Master_Adver_Interval in centiseconds: ours on entry, then the Master's (v3).
    var masterAdverInterval: UInt16
    var masterDownDeadline: Instant
    /// When Master_Down_Timer was last set, so a priority change can recompute its deadline.
    var masterDownSetAt: Instant
    /// The Master we last accepted an advert from; nil until one arrives or after it resigned.
    var master: IPAddress?
    var masterPriority: UInt8?
    /// Set while we accept a lower-priority Master until the preempt delay ends.
    var preemptDelayDeadline: Instant?
    /// Why Master_Down_Timer would fire, for the transition's reason.
    var masterDownCause: MasterDownCause
}

enum MasterDownCause: Sendable, Hashable {
    case noMasterSeen
    case masterSilent
    case masterResigned(IPAddress)
}

struct MasterState: Sendable, Hashable {
    var adverDeadline: Instant
    /// When we last forced a new election against each lower-priority Master, within the last
    /// Advertisement_Interval (older entries are pruned). Per source, not overall: when several
    /// routers took over together, each may re-announce after our last forced election and then
    /// step down with a parting advert, which must still be answered.
    var forcedElections: [IPAddress: Instant] = [:]
}

struct FaultState: Sendable, Hashable {}
