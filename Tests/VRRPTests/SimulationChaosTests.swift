import Testing
import VRRP

/// Random faults, one at a time, each healed: after every heal (and after a crash, stop or
/// priority loss that lasts long enough) there must be exactly one Master within
/// Master_Down_Interval + 2 × the largest link delay (one delay for the takeover advert, one for a
/// concurrently timed-out lower Backup to hear it), holding the virtual address alone, and the
/// election must then stay quiet until the next fault.
struct ChaosRun {
    enum Fault: CaseIterable {
        case crashMaster, crashAny, stopMaster, partition, linkDown, priorityZero, priorityDrop, lossBurst
    }

    let seed: UInt64
    let interval: UInt16
    let preempt: Bool
    var lan: SimulatedLAN
    var episodes = 0
    var checks = 0
    var failure: String?
    var faultsSeen: [Fault: Int] = [:]
    var lossEndedAt: UInt64?

    init(seed: UInt64, interval: UInt16, preempt: Bool) {
        self.seed = seed
        self.interval = interval
        self.preempt = preempt
        var random = SplitMix64(seed: seed)
        let count = 2 + Int(seed % 4)
        let configurations = (0..<count).map { index in
            VRRPRouter.Configuration(
                vrid: 51, priority: UInt8.random(in: 200...254, using: &random), version: .v3,
                advertisementInterval: interval, primaryAddress: .v4(IPv4Address(198, 51, 100, UInt8(index + 1))),
                virtualAddresses: [testVIP], preempt: preempt)
        }
        var conditions = SimulatedLAN.Conditions()
        conditions.duplication = 0.01
        lan = SimulatedLAN(configurations, conditions: conditions, seed: random.next())
    }

    var cycle: UInt64 { intervalNanoseconds(interval) }

    /// Nodes whose priority is the highest among those able to be Master (any of them may win:
    /// a Backup accepts an equal-priority Master, RFC 5798 §6.4.2).
    var rightful: Set<Int> {
        let eligible = lan.nodes.indices.filter { lan.nodes[$0].isRunning && lan.nodes[$0].linkUp && (lan.nodes[$0].router?.effectivePriority ?? 0) > 0 }
        let top = eligible.map { lan.nodes[$0].router!.effectivePriority }.max() ?? 0
        return Set(eligible.filter { lan.nodes[$0].router!.effectivePriority == top })
    }

    /// Master_Down_Interval of the lowest priority able to win, plus two link delays.
    var bound: UInt64 {
        let priorities = lan.nodes.indices.filter { lan.nodes[$0].isRunning }.map { lan.nodes[$0].router!.effectivePriority }.filter { $0 > 0 }
        let lowest = priorities.min() ?? 1
        return VRRPRouter.masterDownInterval(priority: lowest, masterAdverInterval: interval) + 2 * lan.conditions.maximumDelay
    }

    /// Exactly one Master, the rightful one when preempting, alone holding the VIP.
    /// Also that the client's ARP entry names the Master, unless the Master has not announced
    /// since the last loss burst ended (`lossEndedAt`): a lost parting advert or gratuitous ARP
    /// leaves clients to the periodic refresh, which the simulation does not model.
    static func violation(in lan: SimulatedLAN, expected: Set<Int>?, lossEndedAt: UInt64? = nil) -> String? {
        let masters = lan.masters
        guard masters.count == 1 else { return "\(masters.count) masters: \(masters)" }
        if let expected, !expected.contains(masters[0]) { return "master \(masters[0]) is not one of \(expected.sorted())" }
        let holders = lan.nodes.indices.filter { !lan.nodes[$0].virtualAddresses.isEmpty }
        guard holders == masters else { return "VIP held by \(holders), master is \(masters)" }
        let announcedSinceLoss = lossEndedAt.map { end in lan.announcements.contains { $0.node == masters[0] && $0.time >= end } } ?? true
        guard lan.clientARPEntry == masters[0] || !announcedSinceLoss else {
            return "the client's ARP entry names \(lan.clientARPEntry.map(String.init) ?? "nobody"), master is \(masters[0])"
        }
        return nil
    }

    /// Runs to `deadline + bound`, then requires the property at every event until `quietUntil`.
    mutating func settle(from start: UInt64, quietUntil end: UInt64, what: String) {
        guard failure == nil else { return }
        let converged = start + bound
        lan.run(until: converged)
        let expected = preempt ? rightful : nil
        if let problem = Self.violation(in: lan, expected: expected, lossEndedAt: lossEndedAt) {
            failure = "seed \(seed) interval \(interval)cs preempt \(preempt): \(problem) at \(converged) ns, \(bound) ns after \(what)\n" + recentTransitions + "\n" + nodeSummary
            return
        }
        checks += 1
        let transitionsBefore = lan.transitions.count
        var problem: String?
        lan.run(until: max(end, converged)) { lan in
            guard problem == nil else { return }
            if lan.transitions.count != transitionsBefore {
                problem = "spurious transition \(lan.transitions.last!)"
            } else if let found = Self.violation(in: lan, expected: expected, lossEndedAt: lossEndedAt) {
                problem = found
            }
        }
        if let problem { failure = "seed \(seed) interval \(interval)cs preempt \(preempt): \(problem) while quiet after \(what)\n" + recentTransitions }
    }

    var nodeSummary: String {
        lan.nodes.indices.map { index in
            let node = lan.nodes[index]
            guard let router = node.router else { return "  node \(index): down" }
            return "  node \(index): \(router.state) priority \(router.effectivePriority) link \(node.linkUp ? "up" : "down") timers \(router.armedTimers)"
        }.joined(separator: "\n")
    }

    var recentTransitions: String {
        lan.transitions.suffix(8).map { "  \($0.time) ns node \($0.node): \($0.from) -> \($0.to) (\($0.reason))" }.joined(separator: "\n")
    }

    mutating func run(episodes count: Int) {
        lan.startAll()
        settle(from: 0, quietUntil: bound + 2 * cycle, what: "start")
        while episodes < count && failure == nil {
            episode()
            episodes += 1
        }
    }

    private mutating func episode() {
        let fault = Fault.allCases.randomElement(using: &lan.random)!
        faultsSeen[fault, default: 0] += 1
        let nodes = Array(lan.nodes.indices)
        let master = lan.masters.first ?? 0
        let victim = nodes.randomElement(using: &lan.random)!
        let hold = UInt64.random(in: cycle / 2...(2 * bound + cycle), using: &lan.random)
        let start = lan.now
        var heal: (inout SimulatedLAN) -> Void
        var checkDuringHold = true
        switch fault {
        case .crashMaster:
            lan.crash(master)
            heal = { $0.start(master) }
        case .crashAny:
            lan.crash(victim)
            heal = { $0.start(victim) }
        case .stopMaster:
            lan.stop(master)
            heal = { $0.start(master) }
        case .partition:
            var shuffled = nodes
            shuffled.shuffle(using: &lan.random)
            let cut = Int.random(in: 1..<nodes.count, using: &lan.random)
            lan.partition([Array(shuffled[..<cut]), Array(shuffled[cut...])])
            heal = { $0.heal() }
            checkDuringHold = false
        case .linkDown:
            lan.setLink(victim, up: false)
            heal = { $0.setLink(victim, up: true) }
        case .priorityZero:
            lan.setPriority(victim, 0)
            let configured = lan.nodes[victim].configuration.priority
            heal = { $0.setPriority(victim, configured) }
        case .priorityDrop:
            // A tracked check with a weight failing on the Master.
            lan.setPriority(master, 150)
            let configured = lan.nodes[master].configuration.priority
            heal = { $0.setPriority(master, configured) }
        case .lossBurst:
            let calm = lan.conditions
            lan.conditions.loss = 0.3
            lan.conditions.corruption = 0.05
            heal = { $0.conditions = calm }
            lossEndedAt = start + hold
            checkDuringHold = false
        }
        if checkDuringHold && hold > bound && lan.nodes.contains(where: { $0.isRunning && $0.linkUp }) {
            settle(from: start, quietUntil: start + hold, what: "\(fault) at \(start) ns")
        } else {
            lan.run(until: start + hold)
        }
        guard failure == nil else { return }
        heal(&lan)
        let healedAt = lan.now
        settle(from: healedAt, quietUntil: healedAt + bound + UInt64.random(in: cycle...(2 * bound), using: &lan.random),
               what: "healing \(fault) at \(healedAt) ns")
    }
}

@Suite("VRRP simulation: random faults, healed")
struct SimulationChaosTests {
    static let seeds: [UInt64] = Array(1...12)

    @Test(arguments: [UInt16(100), 10, 1])
    func afterEveryHealedFaultExactlyTheHighestPriorityIsMasterWithinTheBound(interval: UInt16) {
        var checks = 0, corrupted = 0, malformed: UInt64 = 0
        for seed in Self.seeds {
            var run = ChaosRun(seed: seed, interval: interval, preempt: true)
            run.run(episodes: 30)
            #expect(run.failure == nil, "\(run.failure ?? "")")
            #expect(run.episodes == 30)
            checks += run.checks
            corrupted += run.lan.packetsCorrupted
            malformed += run.lan.nodes.compactMap { $0.router?.counters.dropped.filter { if case .malformed = $0.key { true } else { false } }.values.reduce(0, +) }.reduce(0, +)
        }
        #expect(checks >= Self.seeds.count * 30)
        #expect(corrupted > 0, "the loss bursts should have corrupted some packets")
        print("VRRP sim chaos at \(formatCentiseconds(interval)) adverts, preempt on: \(Self.seeds.count) seeds × 30 faults, \(checks) convergence checks passed; \(corrupted) corrupted packets, \(malformed) counted as malformed by running routers")
    }

    @Test(arguments: [UInt16(100), 10, 1])
    func withoutPreemptAfterEveryHealedFaultExactlyOneMasterWithinTheBound(interval: UInt16) {
        var checks = 0
        for seed in Self.seeds {
            var run = ChaosRun(seed: seed + 1000, interval: interval, preempt: false)
            run.run(episodes: 30)
            #expect(run.failure == nil, "\(run.failure ?? "")")
            checks += run.checks
        }
        #expect(checks >= Self.seeds.count * 30)
        print("VRRP sim chaos at \(formatCentiseconds(interval)) adverts, preempt off: \(checks) convergence checks passed")
    }
}
