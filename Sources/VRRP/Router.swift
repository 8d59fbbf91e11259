import TextFormats
/// One VRRP virtual router (RFC 5798 §6) as a pure value: events in, actions out. It owns no
/// socket, timer or clock; the daemon performs the actions and feeds back events with `now`.
public struct VRRPRouter: Sendable {
    public private(set) var configuration: Configuration
    public private(set) var counters = Counters()
    /// Configured priority after health tracking; 0 means Fault.
    public private(set) var effectivePriority: UInt8
    public private(set) var isLinkUp = true
    private var virtualAddressSet: Set<IPAddress>
    /// `configuration.acceptedIntervalLimit`, kept so the advert path does not derive it each time.
    private var acceptedIntervalLimit: UInt16
    private var machine: Machine = .initialize(InitializeState())

    private enum Machine: Sendable, Hashable {
        case initialize(InitializeState)
        case backup(BackupState)
        case master(MasterState)
        case fault(FaultState)
    }

    public init(configuration: Configuration) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        effectivePriority = configuration.priority
        virtualAddressSet = Set(configuration.virtualAddresses)
        acceptedIntervalLimit = configuration.acceptedIntervalLimit
    }

    // MARK: Observed state

    public var state: State {
        switch machine {
        case .initialize: .initialize
        case .backup: .backup
        case .master: .master
        case .fault: .fault
        }
    }

    /// Master_Adver_Interval (centiseconds) while Backup; our Advertisement_Interval otherwise.
    public var masterAdverInterval: UInt16 {
        switch machine {
        case .backup(let backup): backup.masterAdverInterval
        case .initialize, .master, .fault: configuration.advertisementInterval
        }
    }

    /// The Master as far as this router knows: itself when Master, the sender of the last
    /// accepted advert when Backup.
    public var masterAddress: IPAddress? {
        switch machine {
        case .master: configuration.primaryAddress
        case .backup(let backup): backup.master
        case .initialize, .fault: nil
        }
    }

    public var masterPriority: UInt8? {
        switch machine {
        case .master: effectivePriority
        case .backup(let backup): backup.masterPriority
        case .initialize, .fault: nil
        }
    }

    /// The deadline of each live timer.
    public var armedTimers: [TimerKind: Instant] {
        switch machine {
        case .initialize, .fault: [:]
        case .master(let master): [.adver: master.adverDeadline]
        case .backup(let backup):
            if let preempt = backup.preemptDelayDeadline {
                [.masterDown: backup.masterDownDeadline, .preemptDelay: preempt]
            } else {
                [.masterDown: backup.masterDownDeadline]
            }
        }
    }

    /// The deadline of one live timer; `armedTimers` without building a dictionary per advert.
    private func armedDeadline(_ kind: TimerKind) -> Instant? {
        switch (machine, kind) {
        case (.master(let master), .adver): master.adverDeadline
        case (.backup(let backup), .masterDown): backup.masterDownDeadline
        case (.backup(let backup), .preemptDelay): backup.preemptDelayDeadline
        case (.master, .masterDown), (.master, .preemptDelay), (.backup, .adver), (.initialize, _), (.fault, _): nil
        }
    }

    /// Skew_Time in nanoseconds (finer than the RFC's centiseconds so that 10 ms intervals still
    /// separate priorities). VRRPv3 (RFC 5798 §6.1): ((256 − Priority) × Master_Adver_Interval) / 256.
    /// VRRPv2 (RFC 3768 §6.1): (256 − Priority) / 256 seconds, whatever the interval.
    public static func skewTime(priority: UInt8, masterAdverInterval: UInt16, version: VRRPVersion = .v3) -> UInt64 {
        let interval: UInt64
        switch version {
        case .v3: interval = UInt64(masterAdverInterval)
        case .v2: interval = 100
        }
        return (256 - UInt64(priority)) * interval * nanosecondsPerCentisecond / 256
    }

    /// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time, in nanoseconds.
    public static func masterDownInterval(priority: UInt8, masterAdverInterval: UInt16, version: VRRPVersion = .v3) -> UInt64 {
        3 * UInt64(masterAdverInterval) * nanosecondsPerCentisecond
            + skewTime(priority: priority, masterAdverInterval: masterAdverInterval, version: version)
    }

    public var skewTime: UInt64 {
        Self.skewTime(priority: effectivePriority, masterAdverInterval: masterAdverInterval, version: configuration.version)
    }

    public var masterDownInterval: UInt64 {
        Self.masterDownInterval(priority: effectivePriority, masterAdverInterval: masterAdverInterval, version: configuration.version)
    }

    private func masterDownInterval(masterAdverInterval interval: UInt16) -> UInt64 {
        Self.masterDownInterval(priority: effectivePriority, masterAdverInterval: interval, version: configuration.version)
    }

    private var advertisementInterval: UInt64 {
        UInt64(configuration.advertisementInterval) * nanosecondsPerCentisecond
    }

    private var isOwner: Bool { effectivePriority == 255 }
    private var mayRun: Bool { isLinkUp && effectivePriority > 0 }

    // MARK: Events

    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        var actions: [Action] = []
        handle(event, now: now, into: &actions)
        return actions
    }

    /// As `handle(_:now:)`, appending to `actions`: the daemon passes one buffer it empties and
    /// reuses, so an advert sent or received allocates no array.
    public mutating func handle(_ event: Event, now: Instant, into actions: inout [Action]) {
        switch event {
        case .startup: startup(now: now, into: &actions)
        case .resumeAsMaster: resumeAsMaster(now: now, into: &actions)
        case .shutdown: shutdown(now: now, into: &actions)
        case .advertisementReceived(let advertisement, let source):
            receive(advertisement, from: source, now: now, into: &actions)
        case .packetRejected(let error): count(.malformed(error.kind))
        case .timerFired(let kind): timerFired(kind, now: now, into: &actions)
        case .priorityChanged(let priority): priorityChanged(to: priority, now: now, into: &actions)
        case .interfaceUp: linkChanged(up: true, now: now, into: &actions)
        case .interfaceDown: linkChanged(up: false, now: now, into: &actions)
        }
    }

    // RFC 5798 §6.4.1.
    private mutating func startup(now: Instant, into actions: inout [Action]) {
        switch machine {
        case .initialize:
            enterRunningState(now: now, reason: "startup", into: &actions)
        case .backup, .master, .fault:
            break  // Already running: a repeated startup changes nothing.
        }
    }

    /// A restart in place of a Master: Master at once when it may run (the advert first, the
    /// addresses kept, a gratuitous ARP round), otherwise as a plain startup.
    private mutating func resumeAsMaster(now: Instant, into actions: inout [Action]) {
        guard case .initialize = machine else { return }
        guard mayRun else {
            enterRunningState(now: now, reason: "resumed after a restart in place", into: &actions)
            return
        }
        changeState(to: .master(MasterState(adverDeadline: now.advanced(byNanoseconds: advertisementInterval))),
                    reason: "resumed as Master after a restart in place", now: now, into: &actions)
    }

    /// Initialize's Startup event, also used when leaving Fault: the owner becomes Master at once,
    /// everyone else Backup.
    private mutating func enterRunningState(now: Instant, reason: String, into actions: inout [Action]) {
        if !mayRun {
            changeState(to: .fault(FaultState()), reason: "\(reason) while \(faultCause)", now: now, into: &actions)
        } else if isOwner {
            changeState(to: .master(MasterState(adverDeadline: now.advanced(byNanoseconds: advertisementInterval))),
                        reason: "\(reason) as address owner (priority 255)", now: now, into: &actions)
        } else {
            let interval = configuration.advertisementInterval
            let backup = BackupState(
                masterAdverInterval: interval,
                masterDownDeadline: now.advanced(byNanoseconds: masterDownInterval(masterAdverInterval: interval)),
                masterDownSetAt: now, master: nil, masterPriority: nil, preemptDelayDeadline: nil, masterDownCause: .noMasterSeen)
            changeState(to: .backup(backup), reason: reason, now: now, into: &actions)
        }
    }

    private var faultCause: String {
        switch (isLinkUp, effectivePriority) {
        case (false, _): "interface down"
        case (true, 0): "effective priority 0"
        case (true, _): "no fault"
        }
    }

    // RFC 5798 §6.4.2 / §6.4.3 Shutdown.
    private mutating func shutdown(now: Instant, into actions: inout [Action]) {
        switch machine {
        case .initialize:
            break
        case .master:
            sendAdvertisement(priority: 0, into: &actions)
            changeState(to: .initialize(InitializeState()), reason: "shutdown: resigned with priority 0", now: now, into: &actions)
        case .backup, .fault:
            changeState(to: .initialize(InitializeState()), reason: "shutdown", now: now, into: &actions)
        }
    }

    // MARK: Receiving (RFC 5798 §7.1 checks that need configuration, then §6.4.2 / §6.4.3)

    private mutating func receive(_ advertisement: VRRPAdvertisement, from source: IPAddress, now: Instant, into actions: inout [Action]) {
        if let reason = discardReason(for: advertisement, from: source) {
            count(reason)
            actions.append(.advertisementDiscarded(reason, from: source))
            return
        }
        counters.advertisementsReceived += 1
        if advertisement.priority == 0 { counters.priorityZeroReceived += 1 }
        if !listsOurVirtualAddresses(advertisement.addresses) { counters.addressListMismatches += 1 }

        switch machine {
        case .initialize:
            preconditionFailure("discardReason lets no advertisement through in Initialize")
        case .fault:
            break  // Not taking part until the fault clears.
        case .backup(let backup):
            backupReceived(advertisement, from: source, backup: backup, now: now, into: &actions)
        case .master(let master):
            masterReceived(advertisement, from: source, master: master, now: now, into: &actions)
        }
    }

    /// The checks of RFC 5798 §7.1 (RFC 3768 §7.1 for v2) that depend on this router. Inlined:
    /// called from a mutating method, an outlined call copies the whole router (257 bytes) first.
    @inline(__always)
    private func discardReason(for advertisement: VRRPAdvertisement, from source: IPAddress) -> DropReason? {
        switch machine {
        case .initialize: return .notRunning
        case .backup, .master, .fault: break
        }
        guard advertisement.version == configuration.version else { return .versionMismatch }
        guard advertisement.vrid == configuration.vrid else { return .vridMismatch }
        guard source.family == configuration.primaryAddress.family else { return .addressFamilyMismatch }
        guard source != configuration.primaryAddress else { return .ownAdvertisement }
        guard !isOwner else { return .addressOwner }
        switch configuration.version {
        case .v2:
            guard advertisement.authentication.authType == configuration.authentication.authType else { return .authTypeMismatch }
            guard advertisement.authentication.data == configuration.authentication.data else { return .authFailure }
            guard advertisement.maxAdvertisementInterval == configuration.advertisementInterval else {
                return .advertisementIntervalMismatch
            }
        case .v3:
            // A zero Max Adver Int would make Master_Down_Interval the bare Skew_Time.
            guard advertisement.maxAdvertisementInterval > 0 else { return .advertisementIntervalZero }
            guard advertisement.maxAdvertisementInterval <= acceptedIntervalLimit else { return .advertisementIntervalTooLong }
        }
        return nil
    }

    /// Whether `addresses` names exactly our virtual addresses, in any order, without building a
    /// set per advert. Inlined for the same reason as `discardReason`.
    @inline(__always)
    private func listsOurVirtualAddresses(_ addresses: [IPAddress]) -> Bool {
        // The usual case, our own list in our own order, without hashing.
        if addresses == configuration.virtualAddresses { return true }
        return addresses.allSatisfy { virtualAddressSet.contains($0) } && virtualAddressSet.allSatisfy { addresses.contains($0) }
    }

    private var preemptMode: Bool { configuration.preempt || isOwner }

    // RFC 5798 §6.4.2: ADVERTISEMENT received while Backup.
    private mutating func backupReceived(
        _ advertisement: VRRPAdvertisement, from source: IPAddress, backup: BackupState, now: Instant,
        into actions: inout [Action]
    ) {
        var next = backup
        if advertisement.priority == 0 {
            next.masterDownDeadline = now.advanced(byNanoseconds: skewTime)
            next.masterDownSetAt = now
            next.masterDownCause = .masterResigned(source)
            next.master = nil
            next.masterPriority = nil
            actions.append(.armTimer(.masterDown, deadline: next.masterDownDeadline))
            machine = .backup(next)
            return
        }
        let lower = advertisement.priority < effectivePriority
        var acceptLower = !preemptMode
        if lower && preemptMode && configuration.preemptDelay > .zero {
            if let deadline = next.preemptDelayDeadline {
                acceptLower = now < deadline
            } else {
                let deadline = now.advanced(byNanoseconds: configuration.preemptDelay.wholeNanoseconds)
                next.preemptDelayDeadline = deadline
                actions.append(.armTimer(.preemptDelay, deadline: deadline))
                acceptLower = true
            }
        }
        guard !lower || acceptLower else {
            count(.lowerPriority)
            actions.append(.advertisementDiscarded(.lowerPriority, from: source))
            return
        }
        if !lower, next.preemptDelayDeadline != nil {
            next.preemptDelayDeadline = nil
            actions.append(.cancelTimer(.preemptDelay))
        }
        if configuration.version == .v3 { next.masterAdverInterval = advertisement.maxAdvertisementInterval }
        next.master = source
        next.masterPriority = advertisement.priority
        next.masterDownCause = .masterSilent
        next.masterDownSetAt = now
        next.masterDownDeadline = now.advanced(byNanoseconds: masterDownInterval(masterAdverInterval: next.masterAdverInterval))
        actions.append(.armTimer(.masterDown, deadline: next.masterDownDeadline))
        machine = .backup(next)
    }

    // RFC 5798 §6.4.3: ADVERTISEMENT received while Master.
    private mutating func masterReceived(
        _ advertisement: VRRPAdvertisement, from source: IPAddress, master: MasterState, now: Instant,
        into actions: inout [Action]
    ) {
        if advertisement.priority == 0 {
            // Another router resigned: assert ourselves at once so Backups do not take over.
            sendAdvertisement(priority: effectivePriority, into: &actions)
            var next = master
            next.adverDeadline = now.advanced(byNanoseconds: advertisementInterval)
            actions.append(.armTimer(.adver, deadline: next.adverDeadline))
            machine = .master(next)
            return
        }
        let higher = advertisement.priority > effectivePriority
            || (advertisement.priority == effectivePriority && source > configuration.primaryAddress)
        guard higher else {
            count(.lowerPriority)
            actions.append(.advertisementDiscarded(.lowerPriority, from: source))
            forceNewElection(against: advertisement, from: source, master: master, now: now, into: &actions)
            return
        }
        // The parting advert (keepalived's vrrp_higher_prio_send_advert): when a healed partition
        // left two Masters and ours reached the other first, the other has heard nothing that
        // tells it clients may still send to us; this lower-priority advert makes it re-announce.
        sendAdvertisement(priority: effectivePriority, into: &actions)
        let interval = configuration.version == .v3 ? advertisement.maxAdvertisementInterval : configuration.advertisementInterval
        let backup = BackupState(
            masterAdverInterval: interval,
            masterDownDeadline: now.advanced(byNanoseconds: masterDownInterval(masterAdverInterval: interval)),
            masterDownSetAt: now, master: source, masterPriority: advertisement.priority, preemptDelayDeadline: nil,
            masterDownCause: .masterSilent)
        let why = advertisement.priority > effectivePriority
            ? "priority \(advertisement.priority) > ours \(effectivePriority)"
            : "equal priority \(advertisement.priority) and higher address than ours \(configuration.primaryAddress)"
        changeState(to: .backup(backup), reason: "advertisement from \(source) with \(why)", now: now, into: &actions)
    }

    /// Two Masters, and we win: a healed partition, during which the other router announced the
    /// virtual addresses at its MAC. RFC 5798 §6.4.3 only discards the advert, which leaves
    /// clients (and the other router) sending to the ex-Master until their ARP entries expire.
    /// Like keepalived ("forcing new election"), answer with our advert, so the other steps down
    /// within a link delay, and re-announce the addresses. At most once per
    /// Advertisement_Interval per source (and `forcedElectionsPerInterval` in all), so a stream
    /// of such adverts cannot make a gratuitous-ARP storm; our regular adverts continue between.
    private mutating func forceNewElection(
        against advertisement: VRRPAdvertisement, from source: IPAddress, master: MasterState, now: Instant,
        into actions: inout [Action]
    ) {
        var next = master
        next.forcedElections = master.forcedElections.filter { now < $0.value.advanced(byNanoseconds: advertisementInterval) }
        guard next.forcedElections[source] == nil, next.forcedElections.count < Self.forcedElectionsPerInterval else {
            machine = .master(next)
            return
        }
        next.forcedElections[source] = now
        machine = .master(next)
        counters.forcedElections += 1
        sendAdvertisement(priority: effectivePriority, into: &actions)
        actions.append(.reannounceVirtualAddresses(configuration.virtualAddresses,
            reason: "advertisement from \(source) with lower priority \(advertisement.priority) (ours \(effectivePriority)) while Master: forcing a new election"))
    }

    /// Bounds the re-announcements per Advertisement_Interval even with many (or forged) sources.
    public static let forcedElectionsPerInterval = 8

    // MARK: Timers

    private mutating func timerFired(_ kind: TimerKind, now: Instant, into actions: inout [Action]) {
        // The Master's advert timer first, on its own: it fires every interval, and this path
        // looks at the state once and copies nothing but the Master's own fields.
        if kind == .adver, case .master(var master) = machine {
            guard now >= master.adverDeadline else {
                actions.append(.armTimer(.adver, deadline: master.adverDeadline))  // Woke early: wait again.
                return
            }
            sendAdvertisement(priority: effectivePriority, into: &actions)
            master.adverDeadline = now.advanced(byNanoseconds: advertisementInterval)
            actions.append(.armTimer(.adver, deadline: master.adverDeadline))
            machine = .master(master)
            return
        }
        guard let deadline = armedDeadline(kind) else { return }  // Cancelled, or fired twice: stale.
        guard now >= deadline else {
            actions.append(.armTimer(kind, deadline: deadline))  // Woke early: wait again.
            return
        }
        switch (machine, kind) {
        case (.backup(let backup), .masterDown):
            let reason: String
            switch backup.masterDownCause {
            case .noMasterSeen: reason = "no advertisement for Master_Down_Interval since start"
            case .masterSilent: reason = "Master_Down_Timer fired: no advertisement from \(backup.master.map(\.description) ?? "master")"
            case .masterResigned(let resigned): reason = "\(resigned) resigned (priority 0); Skew_Time elapsed"
            }
            becomeMaster(now: now, reason: reason, into: &actions)
        case (.backup(let backup), .preemptDelay):
            if let priority = backup.masterPriority, priority < effectivePriority {
                becomeMaster(now: now, reason: "preempt delay elapsed: master \(backup.master.map(\.description) ?? "?") has priority \(priority) < ours \(effectivePriority)", into: &actions)
            } else {
                var next = backup
                next.preemptDelayDeadline = nil
                machine = .backup(next)
            }
        case (.master, _), (.backup, .adver), (.initialize, _), (.fault, _):
            preconditionFailure("armedTimers has no \(kind) in \(state)")
        }
    }

    private mutating func becomeMaster(now: Instant, reason: String, into actions: inout [Action]) {
        changeState(to: .master(MasterState(adverDeadline: now.advanced(byNanoseconds: advertisementInterval))),
                    reason: reason, now: now, into: &actions)
    }

    // MARK: Health tracking

    private mutating func priorityChanged(to priority: UInt8, now: Instant, into actions: inout [Action]) {
        // Only the owner may advertise 255 (RFC 5798 §5.2.4).
        let clamped = configuration.priority == 255 ? priority : min(priority, 254)
        guard clamped != effectivePriority else { return }
        let old = effectivePriority
        effectivePriority = clamped
        reconsiderFault(now: now, cause: "effective priority \(old) -> \(clamped)", into: &actions)
    }

    private mutating func linkChanged(up: Bool, now: Instant, into actions: inout [Action]) {
        guard up != isLinkUp else { return }
        isLinkUp = up
        reconsiderFault(now: now, cause: up ? "interface up" : "interface down", into: &actions)
    }

    private mutating func reconsiderFault(now: Instant, cause: String, into actions: inout [Action]) {
        switch machine {
        case .initialize:
            break  // Applied at startup.
        case .fault:
            if mayRun { enterRunningState(now: now, reason: "fault cleared (\(cause))", into: &actions) }
        case .master:
            guard !mayRun else { return }
            // Resign while the link still works, so a Backup takes over after Skew_Time.
            if isLinkUp { sendAdvertisement(priority: 0, into: &actions) }
            changeState(to: .fault(FaultState()), reason: cause, now: now, into: &actions)
        case .backup(let backup):
            guard mayRun else {
                changeState(to: .fault(FaultState()), reason: cause, now: now, into: &actions)
                return
            }
            recomputeMasterDown(backup, into: &actions)
        }
    }

    /// Skew_Time depends on our priority (and v2's interval is ours): re-derive the deadline from
    /// when Master_Down_Timer was set, so a raised priority shortens the wait at once.
    private mutating func recomputeMasterDown(_ backup: BackupState, into actions: inout [Action]) {
        var next = backup
        let wait: UInt64
        switch backup.masterDownCause {
        case .masterResigned: wait = skewTime
        case .noMasterSeen, .masterSilent: wait = masterDownInterval
        }
        next.masterDownDeadline = backup.masterDownSetAt.advanced(byNanoseconds: wait)
        guard next.masterDownDeadline != backup.masterDownDeadline else { return }
        machine = .backup(next)
        actions.append(.armTimer(.masterDown, deadline: next.masterDownDeadline))
    }

    // MARK: Reconfiguration (SIGHUP)

    /// Adopts a new configuration of the same virtual router without leaving the current state
    /// where the RFC allows: a Master swaps only the virtual addresses that changed and
    /// advertises the new values at once; a Backup recomputes Master_Down_Timer. The effective
    /// priority restarts from the new configured priority (0 stays 0) for the caller's health
    /// tracking to adjust. VRID, version and primary address identify the virtual router on the
    /// wire and cannot change: restart the instance for those.
    public mutating func reconfigure(_ new: Configuration, now: Instant) throws(ConfigurationError) -> [Action] {
        try new.validate()
        guard new.vrid == configuration.vrid else {
            throw ConfigurationError(field: "vrid", problem: "cannot change while running (\(configuration.vrid) -> \(new.vrid)); restart the instance")
        }
        guard new.version == configuration.version else {
            throw ConfigurationError(field: "version", problem: "cannot change while running; restart the instance")
        }
        guard new.primaryAddress == configuration.primaryAddress else {
            throw ConfigurationError(field: "primaryAddress", problem: "cannot change while running (\(configuration.primaryAddress) -> \(new.primaryAddress)); restart the instance")
        }
        let old = configuration
        configuration = new
        virtualAddressSet = Set(new.virtualAddresses)
        acceptedIntervalLimit = new.acceptedIntervalLimit
        if effectivePriority != 0 { effectivePriority = new.priority }
        var actions: [Action] = []
        guard old != new else { return actions }
        switch machine {
        case .initialize:
            break
        case .fault:
            if mayRun { enterRunningState(now: now, reason: "reconfigured", into: &actions) }
        case .master(let master):
            let removed = old.virtualAddresses.filter { !virtualAddressSet.contains($0) }
            let kept = Set(old.virtualAddresses)
            let added = new.virtualAddresses.filter { !kept.contains($0) }
            if !removed.isEmpty { actions.append(.removeVirtualAddresses(removed)) }
            if !added.isEmpty {
                actions.append(.addVirtualAddresses(added))
                actions.append(.sendGratuitousARP(added))
            }
            sendAdvertisement(priority: effectivePriority, into: &actions)
            var next = master
            next.adverDeadline = now.advanced(byNanoseconds: advertisementInterval)
            actions.append(.armTimer(.adver, deadline: next.adverDeadline))
            machine = .master(next)
        case .backup(var backup):
            if isOwner {
                becomeMaster(now: now, reason: "reconfigured as address owner (priority 255)", into: &actions)
                return actions
            }
            if new.version == .v2 || backup.master == nil { backup.masterAdverInterval = new.advertisementInterval }
            if backup.preemptDelayDeadline != nil && (!new.preempt || new.preemptDelay != old.preemptDelay) {
                backup.preemptDelayDeadline = nil
                actions.append(.cancelTimer(.preemptDelay))
            }
            machine = .backup(backup)
            recomputeMasterDown(backup, into: &actions)
        }
        return actions
    }

    // MARK: Transitions

    /// Every transition: exit actions of the old state, the log line, the counters, entry actions.
    private mutating func changeState(to next: Machine, reason: String, now: Instant, into actions: inout [Action]) {
        let from = state
        switch machine {
        case .initialize, .fault:
            break
        case .backup(let backup):
            actions.append(.cancelTimer(.masterDown))
            if backup.preemptDelayDeadline != nil { actions.append(.cancelTimer(.preemptDelay)) }
        case .master:
            actions.append(.cancelTimer(.adver))
            actions.append(.removeVirtualAddresses(configuration.virtualAddresses))
        }
        machine = next
        let to = state
        precondition(from != to, "VRRP transition \(from) -> \(to) is not a change of state")
        counters.transitions += 1
        actions.append(.stateChanged(from: from, to: to, reason: reason))
        switch next {
        case .initialize, .fault:
            break
        case .backup(let backup):
            precondition(mayRun, "Backup needs the link up and a priority above 0")
            actions.append(.armTimer(.masterDown, deadline: backup.masterDownDeadline))
        case .master(let master):
            precondition(mayRun, "Master needs the link up and a priority above 0")
            counters.becameMaster += 1
            // The advert first: the old Master steps down while we add the addresses.
            sendAdvertisement(priority: effectivePriority, into: &actions)
            actions.append(.addVirtualAddresses(configuration.virtualAddresses))
            actions.append(.sendGratuitousARP(configuration.virtualAddresses))
            actions.append(.armTimer(.adver, deadline: master.adverDeadline))
        }
    }

    // MARK: Helpers

    private mutating func sendAdvertisement(priority: UInt8, into actions: inout [Action]) {
        counters.advertisementsSent += 1
        if priority == 0 { counters.priorityZeroSent += 1 }
        actions.append(.sendAdvertisement(VRRPAdvertisement(
            version: configuration.version, vrid: configuration.vrid, priority: priority,
            maxAdvertisementInterval: configuration.advertisementInterval,
            addresses: configuration.virtualAddresses, authentication: configuration.authentication)))
    }

    private mutating func count(_ reason: DropReason) {
        counters.dropped[reason, default: 0] += 1
    }
}
