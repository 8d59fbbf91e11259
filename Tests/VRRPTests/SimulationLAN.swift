import VRRP

/// N VRRP routers on an in-memory LAN driven by a discrete-event clock. Adverts travel as bytes
/// through the codec, so corruption is caught by the receive checks as on a real wire.
struct SimulatedLAN {
    struct Conditions {
        var loss = 0.0
        var duplication = 0.0
        var corruption = 0.0
        var minimumDelay: UInt64 = 50_000
        var maximumDelay: UInt64 = 250_000
    }

    struct Node {
        let configuration: VRRPRouter.Configuration
        var router: VRRPRouter?
        /// Bumped on every crash or restart, so packets and timers of an earlier life are void.
        var incarnation = 0
        var linkUp = true
        var segment = 0
        var timers: [VRRPRouter.TimerKind: Int] = [:]
        var virtualAddresses: Set<IPAddress> = []
        var isRunning: Bool { router != nil }
    }

    struct Transition {
        let time: UInt64
        let node: Int
        let from: VRRPRouter.State
        let to: VRRPRouter.State
        let reason: String
    }

    /// A gratuitous-ARP burst (takeover or re-announcement) sent by `node`.
    struct Announcement {
        let time: UInt64
        let node: Int
    }

    private enum Happening {
        case deliver(to: Int, incarnation: Int, bytes: [UInt8], from: IPAddress)
        case timer(node: Int, incarnation: Int, kind: VRRPRouter.TimerKind, token: Int)
    }

    private struct Scheduled {
        let time: UInt64
        let sequence: Int
        let happening: Happening
        func precedes(_ other: Scheduled) -> Bool { (time, sequence) < (other.time, other.sequence) }
    }

    private(set) var now: UInt64 = 0
    private(set) var nodes: [Node]
    private(set) var transitions: [Transition] = []
    private(set) var announcements: [Announcement] = []
    /// A client on the LAN: the segment it sits on and the router its ARP entry for the virtual
    /// address names (the last one whose gratuitous ARP reached it).
    var clientSegment = 0
    private(set) var clientARPEntry: Int?
    private(set) var advertsSent = 0
    private(set) var packetsCorrupted = 0
    var conditions: Conditions
    var random: SplitMix64
    private var heap: [Scheduled] = []
    private var sequence = 0
    private var nextToken = 0

    init(_ configurations: [VRRPRouter.Configuration], conditions: Conditions = Conditions(), seed: UInt64) {
        nodes = configurations.map { Node(configuration: $0) }
        self.conditions = conditions
        random = SplitMix64(seed: seed)
    }

    // MARK: Faults and repairs

    mutating func start(_ node: Int) {
        precondition(!nodes[node].isRunning)
        nodes[node].incarnation += 1
        nodes[node].timers = [:]
        // Configuration validity is checked by the caller's scenario.
        var router = try! VRRPRouter(configuration: nodes[node].configuration)
        if !nodes[node].linkUp { _ = router.handle(.interfaceDown, now: Instant(nanoseconds: now)) }
        nodes[node].router = router
        apply(.startup, to: node)
    }

    mutating func startAll() { for node in nodes.indices { start(node) } }

    /// Power loss: no resignation, no clean-up; its addresses vanish with it.
    mutating func crash(_ node: Int) {
        nodes[node].router = nil
        nodes[node].incarnation += 1
        nodes[node].timers = [:]
        nodes[node].virtualAddresses = []
    }

    /// The daemon stopping cleanly (SIGTERM): Shutdown event, then gone.
    mutating func stop(_ node: Int) {
        apply(.shutdown, to: node)
        crash(node)
    }

    mutating func setLink(_ node: Int, up: Bool) {
        nodes[node].linkUp = up
        if nodes[node].isRunning { apply(up ? .interfaceUp : .interfaceDown, to: node) }
    }

    mutating func setPriority(_ node: Int, _ priority: UInt8) {
        if nodes[node].isRunning { apply(.priorityChanged(effective: priority), to: node) }
    }

    /// Each node to the segment of the group it is listed in; nodes on different segments cannot hear each other.
    mutating func partition(_ groups: [[Int]]) {
        for (segment, group) in groups.enumerated() { for node in group { nodes[node].segment = segment } }
    }

    mutating func heal() {
        for node in nodes.indices { nodes[node].segment = 0 }
        clientSegment = 0
    }

    /// Whether the client reaches the virtual address: its ARP entry names a router that holds it.
    var clientReachesVirtualAddress: Bool {
        guard let entry = clientARPEntry else { return false }
        return nodes[entry].isRunning && nodes[entry].linkUp && !nodes[entry].virtualAddresses.isEmpty
            && nodes[entry].segment == clientSegment
    }

    // MARK: Running

    /// Runs every happening up to `end`, calling `observe` after each.
    mutating func run(until end: UInt64, observe: (SimulatedLAN) -> Void = { _ in }) {
        while let first = heap.first, first.time <= end {
            let item = popFirst()
            now = item.time
            switch item.happening {
            case .deliver(let node, let incarnation, let bytes, let source):
                guard nodes[node].incarnation == incarnation, nodes[node].isRunning, nodes[node].linkUp,
                      canHear(node, source) else { continue }
                receive(bytes, from: source, at: node)
            case .timer(let node, let incarnation, let kind, let token):
                guard nodes[node].incarnation == incarnation, nodes[node].timers[kind] == token else { continue }
                nodes[node].timers[kind] = nil
                apply(.timerFired(kind), to: node)
            }
            observe(self)
        }
        now = max(now, end)
    }

    var masters: [Int] { nodes.indices.filter { nodes[$0].router?.state == .master } }

    func state(_ node: Int) -> VRRPRouter.State? { nodes[node].router?.state }

    /// First moment after `time` at which `node` became Master.
    func becameMaster(_ node: Int, after time: UInt64) -> UInt64? {
        transitions.first { $0.node == node && $0.to == .master && $0.time >= time }?.time
    }

    // MARK: Internals

    /// 224.0.0.18 or ff02::12.
    static func group(for source: IPAddress) -> IPAddress {
        switch source {
        case .v4: .v4(.vrrpMulticast)
        case .v6: .v6(.vrrpMulticast)
        }
    }

    private func canHear(_ node: Int, _ source: IPAddress) -> Bool {
        guard let sender = nodes.firstIndex(where: { $0.configuration.primaryAddress == source }) else { return false }
        return nodes[sender].segment == nodes[node].segment
    }

    private mutating func receive(_ bytes: [UInt8], from source: IPAddress, at node: Int) {
        let configuration = nodes[node].configuration
        let facts = IPLayerFacts(source: source, destination: Self.group(for: source))
        do {
            let advert = try VRRPCodec.decode(bytes, ip: facts, version: configuration.version, checksum: configuration.checksumMode)
            apply(.advertisementReceived(advert, from: source), to: node)
        } catch {
            apply(.packetRejected(error), to: node)
        }
    }

    private mutating func apply(_ event: VRRPRouter.Event, to node: Int) {
        guard var router = nodes[node].router else { return }
        let actions = router.handle(event, now: Instant(nanoseconds: now))
        nodes[node].router = router
        for action in actions { perform(action, by: node) }
    }

    private mutating func perform(_ action: VRRPRouter.Action, by node: Int) {
        switch action {
        case .sendAdvertisement(let advert):
            send(advert, from: node)
        case .addVirtualAddresses(let addresses):
            nodes[node].virtualAddresses.formUnion(addresses)
        case .removeVirtualAddresses(let addresses):
            nodes[node].virtualAddresses.subtract(addresses)
        case .sendGratuitousARP, .reannounceVirtualAddresses:
            announcements.append(Announcement(time: now, node: node))
            if nodes[node].linkUp && nodes[node].segment == clientSegment { clientARPEntry = node }
        case .advertisementDiscarded:
            break
        case .armTimer(let kind, let deadline):
            nextToken += 1
            nodes[node].timers[kind] = nextToken
            schedule(.timer(node: node, incarnation: nodes[node].incarnation, kind: kind, token: nextToken),
                     at: max(deadline.nanoseconds, now))
        case .cancelTimer(let kind):
            nodes[node].timers[kind] = nil
        case .stateChanged(let from, let to, let reason):
            transitions.append(Transition(time: now, node: node, from: from, to: to, reason: reason))
        }
    }

    private mutating func send(_ advert: VRRPAdvertisement, from node: Int) {
        guard nodes[node].linkUp else { return }
        advertsSent += 1
        let source = nodes[node].configuration.primaryAddress
        let bytes = VRRPCodec.encode(advert, source: source, destination: Self.group(for: source),
                                     checksum: nodes[node].configuration.checksumMode)
        for receiver in nodes.indices where receiver != node && nodes[receiver].segment == nodes[node].segment {
            let copies = random.chance(conditions.duplication) ? 2 : 1
            for _ in 0..<copies where !random.chance(conditions.loss) {
                var wire = bytes
                if random.chance(conditions.corruption) {
                    let bit = Int.random(in: 0..<(wire.count * 8), using: &random)
                    wire[bit / 8] ^= 1 << UInt8(bit % 8)
                    packetsCorrupted += 1
                }
                let delay = UInt64.random(in: conditions.minimumDelay...conditions.maximumDelay, using: &random)
                schedule(.deliver(to: receiver, incarnation: nodes[receiver].incarnation, bytes: wire, from: source),
                         at: now + delay)
            }
        }
    }

    private mutating func schedule(_ happening: Happening, at time: UInt64) {
        sequence += 1
        heap.append(Scheduled(time: time, sequence: sequence, happening: happening))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popFirst() -> Scheduled {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
                if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
