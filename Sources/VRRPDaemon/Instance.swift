import VRRPConfig
import CVRRPSys
import VRRP
import TextFormats
import Glibc

/// One configured virtual router at run time: the pure `VRRPRouter` plus the sockets and
/// schedules that carry out its actions. All calls happen on the event-loop thread.
final class Instance {
    private(set) var config: InstanceConfig
    private(set) var router: VRRPRouter
    let interface: InterfaceInfo
    let socket: VRRPSocket
    let announcer: VIPAnnouncer
    /// Other local instances' VRIDs on this interface: their adverts are not ours to count.
    var siblingVRIDs: Set<UInt8> = [] {
        didSet { received.forget() }
    }

    /// Live deadlines of the router's timers (monotonic ns).
    private(set) var timers = TimerTable()
    /// The router's actions: one buffer, appended to in place and emptied every 64 or so actions
    /// when no event is being handled, so the advert path allocates nothing.
    private var actions: [VRRPRouter.Action] = []
    /// Events being handled: an action may feed the router again (re-entrancy).
    private var feedDepth = 0
    private var sent = SentAdvertCache()
    private var received = ReceivedAdvertCache()
    /// Advert destinations: the unicast peers, or the VRRP multicast group.
    private var destinations: [IPAddress]
    /// Pending gratuitous-ARP (IPv6: neighbour advertisement) rounds (monotonic ns), and the next
    /// periodic refresh.
    private(set) var garp: GARPSchedule

    private(set) var checks: CheckSet
    var trackedInterfaces: [(name: String, index: Int32, up: Bool)] = []
    private(set) var tracking = TrackedPriority(fault: false, priority: 0, reason: "")

    // Daemon-side counters (the router counts the protocol's).
    private(set) var sendErrors: UInt64 = 0
    private(set) var vipErrors: UInt64 = 0
    private(set) var garpSent: UInt64 = 0
    /// Announcement rounds the kernel refused (each is retried, see `GARPSchedule.failed`).
    private(set) var garpFailures: UInt64 = 0
    private(set) var localDrops: [String: UInt64] = [:]
    private(set) var installedVIPs: Set<IPAddress> = []
    /// During a reload, the previous VIPs, so removed ones are deleted with their prefix.
    private var retiredVIPs: [VirtualAddress] = []
    private(set) var lastTransition: (from: String, to: String, reason: String, at: UInt64)?
    private var dropLog = DropLogLimiter()
    let notifier: Notifier

    init(config: InstanceConfig, notifier: Notifier) throws(SystemError) {
        self.config = config
        self.notifier = notifier
        garp = GARPSchedule(config.garp)
        checks = CheckSet(config.track)
        destinations = Self.destinations(config)
        interface = try InterfaceInfo.read(config.interface, family: config.family)
        let source = config.unicastSource ?? interface.primaryAddress
        do {
            router = try VRRPRouter(configuration: Self.routerConfiguration(config, primary: source))
        } catch {
            throw SystemError("instance \(config.name): \(error)", errno: EINVAL)
        }
        socket = try VRRPSocket(interface: config.interface, ifindex: interface.index, source: source,
                                multicast: !config.isUnicast, vrid: config.vrid)
        announcer = try VIPAnnouncer(family: config.family, interface: interface)
        refreshTrackedInterfaces()
    }

    static func destinations(_ c: InstanceConfig) -> [IPAddress] {
        if c.isUnicast { return c.unicastPeers }
        switch c.family {
        case .ipv4: return [.v4(.vrrpMulticast)]
        case .ipv6: return [.v6(.vrrpMulticast)]
        }
    }

    static func routerConfiguration(_ c: InstanceConfig, primary: IPAddress) -> VRRPRouter.Configuration {
        VRRPRouter.Configuration(
            vrid: c.vrid, priority: c.priority, version: c.version,
            advertisementInterval: UInt16(c.advertInterval.totalMilliseconds / 10),
            primaryAddress: primary, virtualAddresses: c.vips.map(\.address),
            preempt: c.preempt, preemptDelay: c.preemptDelay, acceptMode: false,
            checksumMode: c.checksum,
            authentication: c.authPassword.map { .simplePassword($0) } ?? .none,
            acceptedIntervalFactor: c.version == .v3 ? UInt16(c.maxIntervalFactor) : 0)
    }

    /// Whether `new` can be applied to the running router (SIGHUP) instead of restarting it:
    /// same interface, socket, VRID and version, and no VIP that changes only its prefix.
    func canAdopt(_ new: InstanceConfig) -> Bool { Self.canAdopt(new, running: config) }

    static func canAdopt(_ new: InstanceConfig, running old: InstanceConfig) -> Bool {
        guard new.interface == old.interface, new.family == old.family, new.unicastPeers == old.unicastPeers,
              new.unicastSource == old.unicastSource, new.vrid == old.vrid,
              new.version == old.version else { return false }
        return new.vips.allSatisfy { vip in
            old.vips.first { $0.address == vip.address }.map { $0.prefixLength == vip.prefixLength } ?? true
        }
    }

    /// Applies a new configuration through the router's `reconfigure` (a Master stays Master,
    /// VIPs are added or removed as listed); check states survive when the checks did not change.
    func adopt(_ new: InstanceConfig, now: UInt64) {
        let sameChecks = new.track == config.track
        retiredVIPs = config.vips
        config = new
        garp.adopt(new.garp)
        destinations = Self.destinations(new)
        sent.forget()
        received.forget()
        do {
            let actions = try router.reconfigure(Self.routerConfiguration(new, primary: socket.source), now: Instant(nanoseconds: now))
            for action in actions { perform(action, now: now) }
        } catch {
            Log.error("reconfigure-failed", ["instance": config.name, "error": error.description])
        }
        retiredVIPs = []
        if !sameChecks { resetChecks() }
        refreshTrackedInterfaces()
        updateTracking(now: now, announce: true)
    }

    func resetChecks() {
        checks = CheckSet(config.track)
    }

    func checkJobs(instance: Int) -> [CheckJob] {
        CheckSet.jobs(config.track, instance: instance)
    }

    func refreshTrackedInterfaces() {
        trackedInterfaces = config.track.interfaces.map { name in
            let index = cvrrp_ifindex(name)
            return (name, index, index > 0 && InterfaceInfo.isUp(name))
        }
    }

    // MARK: Events in

    /// `resume`: this instance's state from the image that restarted in place; a Master with the
    /// same checks resumes as Master, its VIPs left where they are.
    func start(now: UInt64, resume: RestartHandoff.InstanceState? = nil) {
        if let resume, resume.master, checks.adopt(good: resume.goodChecks) {
            for vip in config.vips where VirtualAddresses.isPresent(vip.address, ifindex: interface.index) {
                installedVIPs.insert(vip.address)
            }
            if !linkUsable() { feed(.interfaceDown, now: now) }
            updateTracking(now: now, announce: false)
            feed(.resumeAsMaster, now: now)
            return
        }
        // A previous run that died as Master may have left the VIPs behind.
        for vip in config.vips { try? VirtualAddresses.remove(vip, ifindex: interface.index, interface: config.interface) }
        if !linkUsable() { feed(.interfaceDown, now: now) }
        updateTracking(now: now, announce: false)
        feed(.startup, now: now)
    }

    /// This instance's state for a restart in place.
    var handoff: RestartHandoff.InstanceState {
        RestartHandoff.InstanceState(master: router.state == .master, goodChecks: checks.states.map(\.good))
    }

    func stop(now: UInt64) {
        feed(.shutdown, now: now)
        // Whatever the state machine did, leave no VIP behind.
        for vip in config.vips where installedVIPs.contains(vip.address) {
            try? VirtualAddresses.remove(vip, ifindex: interface.index, interface: config.interface)
        }
        installedVIPs.removeAll()
    }

    func checkResult(index: Int, ok: Bool, detail: String, now: UInt64) {
        if let changed = checks.record(index: index, ok: ok, detail: detail) {
            Log.info("check", ["instance": config.name, "check": changed.name,
                               "status": changed.isGood ? "good" : "failing", "detail": detail])
            updateTracking(now: now, announce: true)
        }
    }

    func linkChanged(ifindex: Int32, up: Bool, now: UInt64) {
        if ifindex == interface.index {
            Log.info("link", ["instance": config.name, "interface": config.interface, "up": String(up)])
            let source = up ? sourceState() : .usable
            if source != .usable {
                Log.info("source-address", ["instance": config.name, "address": "\(socket.source)", "state": source.rawValue])
            }
            feed(up && source == .usable ? .interfaceUp : .interfaceDown, now: now)
        }
        var changed = false
        for i in trackedInterfaces.indices where trackedInterfaces[i].index == ifindex && trackedInterfaces[i].up != up {
            trackedInterfaces[i].up = up
            changed = true
        }
        if changed { updateTracking(now: now, announce: true) }
    }

    /// An IPv6 address of `ifindex` changed: our link-local source may have become usable (DAD
    /// done) or unusable (tentative again after the link came back, or gone).
    func ipv6AddressesChanged(ifindex: Int32, now: UInt64) {
        guard ifindex == interface.index, config.family == .ipv6 else { return }
        let state = sourceState()
        let usable = state == .usable && InterfaceInfo.isUp(config.interface)
        guard usable != router.isLinkUp else { return }
        Log.info("source-address", ["instance": config.name, "address": "\(socket.source)", "state": state.rawValue])
        feed(usable ? .interfaceUp : .interfaceDown, now: now)
    }

    /// The link is up and, for IPv6, our source address can be sent from.
    private func linkUsable() -> Bool {
        InterfaceInfo.isUp(config.interface) && sourceState() == .usable
    }

    /// Whether the socket's source address is on the interface and past duplicate address
    /// detection. Sending from a tentative IPv6 address fails: an instance that took over then
    /// would be a silent Master beside the real one until DAD ends (about a second after every
    /// link up), so until then it counts as a link down.
    private func sourceState() -> SourceAddressState {
        guard case .v6(let source) = socket.source else { return .usable }
        guard let addresses = try? InterfaceInfo.ipv6Addresses(interface.index, interface: config.interface) else {
            return .usable  // cannot tell: let the send path report
        }
        return SourceAddressState(source, among: addresses)
    }

    /// After missed link events: re-read every link.
    func resyncLinks(now: UInt64) {
        let up = linkUsable()
        if up != router.isLinkUp { feed(up ? .interfaceUp : .interfaceDown, now: now) }
        refreshTrackedInterfaces()
        updateTracking(now: now, announce: true)
    }

    func updateTracking(now: UInt64, announce: Bool) {
        let next = TrackedPriority.compute(base: config.priority, checks: checks.states,
                                           downInterfaces: trackedInterfaces.filter { !$0.up }.map(\.name))
        let effective: UInt8 = next.fault ? 0 : next.priority
        if announce, next != tracking {
            Log.info("tracking", ["instance": config.name, "effective_priority": String(effective), "reason": next.reason])
        }
        tracking = next
        if effective != router.effectivePriority { feed(.priorityChanged(effective: effective), now: now) }
    }

    /// Hands one pending datagram to the router. One per wake-up: poll is level-triggered, so
    /// more pending ones wake it again, and the usual single advert costs no extra recv that
    /// would only say EAGAIN.
    func receive(now: UInt64) {
        let length: Int
        do {
            length = try socket.receive()
        } catch {
            Log.error("receive-failed", ["instance": config.name, "error": error.description])
            return
        }
        guard length > 0 else { return }
        let datagram = socket.received(length)
        switch socket.family {
        case .ipv4: handlePacket(datagram, now: now)
        case .ipv6:
            guard let facts = socket.receivedFacts else { return }
            intake(message: datagram, ip: facts, now: now)
        }
    }

    // MARK: Batched intake (Backup)

    /// A Backup reads its socket in batches (`BatchedIntake` says which datagrams and as of
    /// when): the daemon polls the socket only while this is false, and drains it on every
    /// wake-up (the deadline, a resignation on the wake socket, a status request): at 10 ms
    /// adverts a Backup wakes about once per three adverts.
    /// Kept from the router's state changes: the event loop asks every turn, and reading the
    /// router's state there cost ~110 instructions per advert on a Master (1305 -> 1192).
    private(set) var defersIntake = false
    /// Whether the daemon's poll set leaves the main socket out now (kept in step with
    /// `defersIntake` by the daemon).
    var pollsDeferred = false
    /// Batch reads that returned datagrams, and priority-0 adverts that woke a batching Backup.
    private(set) var batchReads: UInt64 = 0
    private(set) var resignationWakeups: UInt64 = 0
    private var batched = BatchedIntake()
    /// The latest instant an event was fed at: events from a batch carry their arrival, never
    /// earlier than what the router has already seen.
    private var lastEventTime: UInt64 = 0
    /// When the last valid advert arrived (for a batching Backup the kernel's stamp, not when
    /// it was read).
    private(set) var lastAdvertAt: UInt64?

    /// Reads every pending datagram of the main socket and handles each as of its arrival.
    func drain(now: UInt64) {
        batched.startDrain()
        while true {
            let n = receiveBatch(wake: false)
            if n == 0 { return }
            batchReads += 1
            for k in 0..<n {
                let (bytes, arrived, stamp, facts) = socket.batched(k)
                guard batched.admitFromMain(stamp: stamp) else { continue }
                intakeBatched(bytes, facts: facts, at: BatchedIntake.handledAt(arrival: arrived, now: now))
            }
            if n < VRRPSocket.batchMax { return }
        }
    }

    /// The wake socket has datagrams: adverts of priority 0, each also on the main socket. A
    /// batching Backup has just drained that (the daemon drains before it dispatches) and
    /// handles here only one the main socket did not have yet; otherwise they are dropped.
    func wake(now: UInt64) {
        while true {
            let n = receiveBatch(wake: true)
            guard n > 0 else { return }
            for k in 0..<n where pollsDeferred {
                resignationWakeups += 1
                let (bytes, arrived, stamp, facts) = socket.batched(k)
                guard batched.admitFromWake(stamp: stamp) else { continue }
                intakeBatched(bytes, facts: facts, at: BatchedIntake.handledAt(arrival: arrived, now: now))
            }
            if n < VRRPSocket.batchMax { return }
        }
    }

    /// One batch from the main or the wake socket: how many datagrams, 0 on none or an error (logged).
    private func receiveBatch(wake: Bool) -> Int {
        do {
            return try socket.receiveBatch(wake: wake)
        } catch {
            Log.error("receive-failed", ["instance": config.name, "error": error.description])
            return 0
        }
    }

    private func intakeBatched(_ bytes: UnsafeRawBufferPointer, facts: IPLayerFacts?, at: UInt64) {
        let datagram = Array(bytes)[...]
        switch socket.family {
        case .ipv4: handlePacket(datagram, now: at)
        case .ipv6:
            guard let facts else { return }
            intake(message: datagram, ip: facts, now: at)
        }
    }

    /// An IPv4 datagram, header included, as the raw socket delivers it: the kernel has checked
    /// its header checksum.
    func handlePacket(_ packet: ArraySlice<UInt8>, now: UInt64) {
        if let (advert, from) = received.advert(inDatagram: packet) {
            feed(.advertisementReceived(advert, from: from), now: now)
            return
        }
        guard let (header, payload) = try? VRRPCodec.parseIPv4Header(packet, verifyingChecksum: false) else {
            handle(PacketIntake.classify(packet, intakeContext), now: now)  // rejected with its reason
            return
        }
        intake(message: payload, ip: header.facts, datagram: packet, now: now)
    }

    private var intakeContext: PacketIntake.Context {
        PacketIntake.Context(version: config.version, checksum: config.checksum, ownAddress: socket.source,
                             unicastPeers: config.unicastPeers, siblingVRIDs: siblingVRIDs,
                             unicastTTLCheck: config.unicastTTLCheck)
    }

    /// Classifies a VRRP message and hands it on; the same advert as last time (same VRRP bytes,
    /// same IP facts) goes straight to the router, not decoded or classified again.
    private func intake(message: ArraySlice<UInt8>, ip: IPLayerFacts, datagram: ArraySlice<UInt8>? = nil, now: UInt64) {
        if let (advert, from) = received.advert(inMessage: message, ip: ip) {
            feed(.advertisementReceived(advert, from: from), now: now)
            return
        }
        let result = PacketIntake.classify(message: message, ip: ip, intakeContext)
        if case .advertisement(let ad, let from) = result {
            received.remember(ad, from: from, message: message, ip: ip, datagram: datagram)
        }
        handle(result, now: now)
    }

    private func handle(_ intake: PacketIntake, now: UInt64) {
        switch intake {
        case .advertisement(let ad, let from):
            feed(.advertisementReceived(ad, from: from), now: now)
        case .rejected(let error, let from):
            feed(.packetRejected(error), now: now)
            logDrop("malformed-\(error.kind.rawValue)", from: from.map { "\($0)" } ?? "?", detail: error.description, now: now)
        case .dropped(let reason, let from):
            countLocalDrop(reason, from: from, now: now)
        case .ignored:
            break
        }
    }

    private func countLocalDrop(_ reason: String, from: IPAddress, now: UInt64) {
        localDrops[reason, default: 0] += 1
        logDrop(reason, from: "\(from)", detail: "", now: now)
    }

    /// At most one line per reason per `DropLogLimiter.period`. The address and detail are
    /// formatted only when the line is written.
    private func logDrop(_ reason: String, from: @autoclosure () -> String, detail: @autoclosure () -> String, now: UInt64) {
        guard dropLog.allows(reason, now: now) else { return }
        Log.warning("advert-dropped", ["instance": config.name, "reason": reason, "from": from(), "detail": detail()])
    }

    /// Fires due router timers and GARP rounds.
    func fireTimers(now: UInt64) {
        // In TimerKind.allCases order, spelled out: no array to walk per wake-up.
        fireTimer(.masterDown, now: now)
        fireTimer(.adver, now: now)
        fireTimer(.preemptDelay, now: now)
        announce(rounds: garp.fire(now: now), now: now)
    }

    private func fireTimer(_ kind: VRRPRouter.TimerKind, now: UInt64) {
        guard let deadline = timers[kind], deadline <= now else { return }
        // The router re-arms or cancels; drop ours first so a re-arm wins.
        timers[kind] = nil
        feed(.timerFired(kind), now: now)
    }

    var nextDeadline: UInt64? {
        earliest(timers.earliest, garp.nextDeadline)
    }

    // MARK: Actions out

    func feed(_ event: VRRPRouter.Event, now: UInt64) {
        // Cleared once per 32 or so events, not per event: removeAll(keepingCapacity:) costs
        // ~160 instructions (a generic replaceSubrange) and an event brings one or two actions.
        // Never while an outer call still walks the buffer.
        if feedDepth == 0, actions.count >= 64 { actions.removeAll(keepingCapacity: true) }
        feedDepth += 1
        defer { feedDepth -= 1 }
        // This event's actions are first..<end; a nested feed appends its own after `end` and
        // performs them itself. In place: taking the buffer out and back cost a retain and two
        // releases per event.
        let first = actions.count
        let now = max(now, lastEventTime)
        lastEventTime = now
        if case .advertisementReceived = event { lastAdvertAt = now }
        router.handle(event, now: Instant(nanoseconds: now), into: &actions)
        let end = actions.count
        for n in first..<end { perform(actions[n], now: now) }
    }

    private func perform(_ action: VRRPRouter.Action, now: UInt64) {
        switch action {
        case .sendAdvertisement(let ad):
            send(ad)
        case .addVirtualAddresses(let addresses):
            for vip in vips(addresses) {
                // Resumed after a restart in place: the address never left.
                if installedVIPs.contains(vip.address) { continue }
                do {
                    try VirtualAddresses.add(vip, ifindex: interface.index, interface: config.interface)
                    installedVIPs.insert(vip.address)
                } catch {
                    vipErrors += 1
                    Log.error("vip-add-failed", ["instance": config.name, "vip": "\(vip)", "error": error.description])
                }
            }
        case .removeVirtualAddresses(let addresses):
            for vip in vips(addresses) {
                do {
                    try VirtualAddresses.remove(vip, ifindex: interface.index, interface: config.interface)
                } catch {
                    vipErrors += 1
                    Log.error("vip-remove-failed", ["instance": config.name, "vip": "\(vip)", "error": error.description])
                }
                installedVIPs.remove(vip.address)
            }
        case .sendGratuitousARP:
            announce(rounds: garp.takeover(now: now), now: now)
        case .reannounceVirtualAddresses(_, let reason):
            Log.info("reannounce", ["instance": config.name, "reason": reason])
            announce(rounds: garp.burst(now: now), now: now)
        case .armTimer(let kind, let deadline):
            timers[kind] = deadline.nanoseconds
        case .cancelTimer(let kind):
            timers[kind] = nil
        case .stateChanged(let from, let to, let reason):
            defersIntake = to == .backup
            lastTransition = (from.rawValue, to.rawValue, reason, now)
            Log.info("transition", ["instance": config.name, "vrid": String(config.vrid), "from": from.rawValue,
                                    "to": to.rawValue, "reason": reason,
                                    "priority": String(router.effectivePriority)])
            if to != .master { garp.stop() }
            notifier.notify(commands: config.notify, instance: config.name, state: to.rawValue.uppercased(),
                            priority: router.effectivePriority)
        case .advertisementDiscarded(let reason, let from):
            if reason != .lowerPriority, reason != .ownAdvertisement {
                logDrop(reason.name, from: "\(from)", detail: "", now: now)
            }
        }
    }

    private func vips(_ addresses: [IPAddress]) -> [VirtualAddress] {
        addresses.map { a in
            config.vips.first { $0.address == a } ?? retiredVIPs.first { $0.address == a }
                ?? VirtualAddress(address: a, prefixLength: a.family.addressLength * 8)
        }
    }

    private func send(_ ad: VRRPAdvertisement) {
        if !sent.holds(priority: ad.priority) {
            sent.store(destinations.map { destination in
                switch (socket.source, destination) {
                case (.v4(let source), .v4(let destination)):
                    // The IPv4 socket sends whole packets (IP_HDRINCL).
                    VRRPCodec.encodeIPv4Packet(ad, source: source, destination: destination, checksum: config.checksum,
                                               dontFragment: true)
                default:
                    VRRPCodec.encode(ad, source: socket.source, destination: destination, checksum: config.checksum)
                }
            }, priority: ad.priority)
        }
        for n in sent.messages.indices {
            do {
                try socket.send(sent.messages[n], to: destinations[n])
            } catch {
                sendErrors += 1
                if sendErrors == 1 || sendErrors % 1000 == 0 {
                    Log.error("send-failed", ["instance": config.name, "error": error.description, "count": String(sendErrors)])
                }
            }
        }
    }

    /// Sends `rounds` announcement rounds; a round the kernel refuses is planned again (see
    /// `GARPSchedule.failed`) with the rounds after it, and logged on its first failure in a row
    /// and when the retries give up.
    private func announce(rounds: Int, now: UInt64) {
        for round in 0..<rounds {
            guard let failure = announceVIPs() else {
                garp.sent()
                continue
            }
            let event = config.family == .ipv4 ? "garp-failed" : "na-failed"
            switch garp.failed(now: now, unsent: rounds - round) {
            case .retry(let attempt, let at):
                garpFailures += 1
                if attempt == 1 {
                    Log.error(event, ["instance": config.name, "vip": "\(failure.vip)", "error": failure.error,
                                      "retry_in_ms": String((at - now) / 1_000_000)])
                }
            case .gaveUp(let attempts):
                garpFailures += 1
                Log.error(event, ["instance": config.name, "vip": "\(failure.vip)", "error": failure.error,
                                  "gave_up_after": String(attempts)])
            }
            return
        }
    }

    /// One round: every VIP announced once. The first failure, or nil when all went out.
    private func announceVIPs() -> (vip: IPAddress, error: String)? {
        var failure: (vip: IPAddress, error: String)?
        for vip in config.vips {
            do {
                try announcer.announce(vip.address)
                garpSent += 1
            } catch {
                if failure == nil { failure = (vip.address, error.description) }
            }
        }
        return failure
    }
}

private let EINVAL: Int32 = 22
