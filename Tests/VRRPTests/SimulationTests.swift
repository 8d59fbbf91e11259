import Testing
import VRRP

/// Routers A, B, C with the recommended priorities near 255, so Skew_Time (and with it graceful
/// failover) is a small fraction of the interval.
func trio(interval: UInt16, priorities: [UInt8] = [254, 253, 252], preempt: Bool = true) -> [VRRPRouter.Configuration] {
    priorities.enumerated().map { index, priority in
        VRRPRouter.Configuration(vrid: 51, priority: priority, version: .v3, advertisementInterval: interval,
                                 primaryAddress: .v4(IPv4Address(198, 51, 100, UInt8(index + 1))),
                                 virtualAddresses: [testVIP], preempt: preempt)
    }
}

func intervalNanoseconds(_ centiseconds: UInt16) -> UInt64 { UInt64(centiseconds) * 10_000_000 }

func median(_ values: [UInt64]) -> UInt64 { values.sorted()[values.count / 2] }

func formatMilliseconds(_ nanoseconds: UInt64) -> String {
    let microseconds = nanoseconds / 1_000
    let fraction = String(microseconds % 1_000)
    return "\(microseconds / 1_000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) ms"
}

@Suite("VRRP simulation: failover figures (3 routers, priorities 254/253/252)")
struct SimulationFailoverTests {
    static let trials = 11

    /// Crash the Master at a random phase of its advert cycle; B must take over after its
    /// Master_Down_Interval counted from the last advert it heard.
    @Test(arguments: [UInt16(100), 10, 1])
    func masterCrashFailsOverToTheNextPriorityWithinMasterDownInterval(interval: UInt16) throws {
        let conditions = SimulatedLAN.Conditions()
        let cycle = intervalNanoseconds(interval)
        let bound = VRRPRouter.masterDownInterval(priority: 253, masterAdverInterval: interval) + conditions.maximumDelay
        var times: [UInt64] = []
        for trial in 0..<Self.trials {
            var lan = SimulatedLAN(trio(interval: interval), conditions: conditions, seed: UInt64(trial) + 1)
            lan.startAll()
            lan.run(until: 10 * cycle)
            try #require(lan.masters == [0])
            let crashAt = lan.now + UInt64.random(in: 0..<cycle, using: &lan.random)
            lan.run(until: crashAt)
            lan.crash(0)
            lan.run(until: crashAt + 2 * bound)
            let takeover = try #require(lan.becameMaster(1, after: crashAt))
            times.append(takeover - crashAt)
            #expect(lan.masters == [1])
            #expect(takeover - crashAt <= bound, "trial \(trial): \(takeover - crashAt) ns > bound \(bound) ns")
            #expect(takeover - crashAt + cycle >= bound - conditions.maximumDelay, "took over before 3 adverts were missed")
        }
        print("VRRP sim: master crash at \(formatCentiseconds(interval)) adverts: failover median \(formatMilliseconds(median(times))), min \(formatMilliseconds(times.min()!)), max \(formatMilliseconds(times.max()!)), bound (Master_Down_Interval(253) + max delay) \(formatMilliseconds(bound))")
    }

    /// A Master that stops cleanly sends priority 0: B takes over after its Skew_Time.
    @Test(arguments: [UInt16(100), 10, 1])
    func gracefulStopFailsOverAfterSkewTime(interval: UInt16) throws {
        let conditions = SimulatedLAN.Conditions()
        let skew = VRRPRouter.skewTime(priority: 253, masterAdverInterval: interval)
        var times: [UInt64] = []
        for trial in 0..<Self.trials {
            var lan = SimulatedLAN(trio(interval: interval), conditions: conditions, seed: UInt64(trial) + 100)
            lan.startAll()
            let cycle = intervalNanoseconds(interval)
            lan.run(until: 10 * cycle + UInt64.random(in: 0..<cycle, using: &lan.random))
            try #require(lan.masters == [0])
            let stopAt = lan.now
            lan.stop(0)
            lan.run(until: stopAt + 4 * cycle)
            let takeover = try #require(lan.becameMaster(1, after: stopAt))
            times.append(takeover - stopAt)
            #expect(lan.masters == [1])
            #expect(takeover - stopAt >= skew + conditions.minimumDelay)
            #expect(takeover - stopAt <= skew + conditions.maximumDelay)
        }
        print("VRRP sim: graceful stop at \(formatCentiseconds(interval)) adverts: failover median \(formatMilliseconds(median(times))), min \(formatMilliseconds(times.min()!)), max \(formatMilliseconds(times.max()!)); Skew_Time(253) = \(formatMilliseconds(skew))")
    }
}

func formatCentiseconds(_ centiseconds: UInt16) -> String {
    centiseconds >= 100 ? "\(centiseconds / 100) s" : "\(UInt64(centiseconds) * 10) ms"
}

@Suite("VRRP simulation: elections")
struct SimulationElectionTests {
    @Test func simultaneousStartElectsTheHighestPriority() {
        var lan = SimulatedLAN(trio(interval: 1, priorities: [252, 254, 253]), seed: 7)
        lan.startAll()
        lan.run(until: 200_000_000)
        #expect(lan.masters == [1])
    }

    @Test func equalPrioritiesElectTheHighestPrimaryAddress() {
        var lan = SimulatedLAN(trio(interval: 1, priorities: [200, 200, 200]), seed: 8)
        lan.startAll()
        lan.run(until: 200_000_000)
        #expect(lan.masters == [2])
    }

    /// A (254) crashes at 100 ms, B (253) takes over, A restarts at 200 ms (10 ms adverts).
    func restartTheHighestAfterFailover(preempt: Bool, seed: UInt64) -> SimulatedLAN {
        var lan = SimulatedLAN(trio(interval: 1, preempt: preempt), seed: seed)
        lan.startAll()
        lan.run(until: 100_000_000)
        lan.crash(0)
        lan.run(until: 200_000_000)
        #expect(lan.masters == [1])
        lan.start(0)
        return lan
    }

    @Test func restartedHigherPriorityRouterPreemptsWithPreemptOn() {
        var lan = restartTheHighestAfterFailover(preempt: true, seed: 9)
        lan.run(until: 300_000_000)
        #expect(lan.masters == [0])
    }

    @Test func restartedHigherPriorityRouterLeavesTheIncumbentWithPreemptOff() {
        var lan = restartTheHighestAfterFailover(preempt: false, seed: 10)
        lan.run(until: 1_000_000_000)
        #expect(lan.masters == [1])
        #expect(lan.state(0) == .backup)
    }

    @Test func ipv6RoutersElectAndFailOverLikeIPv4Ones() {
        let configurations = [UInt8(254), 253].enumerated().map { index, priority in
            VRRPRouter.Configuration(vrid: 51, priority: priority, advertisementInterval: 1,
                                     primaryAddress: .v6(IPv6Address(high: 0xFE80 << 48, low: UInt64(index + 1))),
                                     virtualAddresses: [.v6(IPv6Address("2001:db8::100")!)])
        }
        var lan = SimulatedLAN(configurations, seed: 12)
        lan.startAll()
        lan.run(until: 100_000_000)
        #expect(lan.masters == [0])
        lan.stop(0)
        lan.run(until: 110_000_000)
        #expect(lan.masters == [1])
    }

    @Test func healedPartitionKeepsTheHigherOfTwoMasters() {
        var lan = SimulatedLAN(trio(interval: 1), seed: 11)
        lan.startAll()
        lan.run(until: 100_000_000)
        lan.partition([[0], [1, 2]])
        lan.run(until: 200_000_000)
        #expect(lan.masters == [0, 1])
        lan.heal()
        let healedAt = lan.now
        // Within one interval B advertises, A answers at once, B steps down.
        lan.run(until: healedAt + 10_000_000 + 2 * SimulatedLAN.Conditions().maximumDelay)
        #expect(lan.masters == [0])
    }

    /// A is cut off with its addresses; the client, on B's side, follows B's gratuitous ARP. After
    /// the heal, whichever Master's advert crosses first, A must re-announce so the client's ARP
    /// entry names the Master again (RFC 5798 alone would leave it naming B, which dropped the VIP).
    @Test(arguments: [UInt16(100), 10, 1])
    func afterAHealedPartitionTheMasterReannouncesAndTheClientReachesIt(interval: UInt16) throws {
        let cycle = intervalNanoseconds(interval)
        let bound = VRRPRouter.masterDownInterval(priority: 253, masterAdverInterval: interval)
        for trial in 0..<Self.healTrials {
            var lan = SimulatedLAN(trio(interval: interval), seed: 500 + UInt64(trial))
            lan.startAll()
            lan.run(until: 10 * cycle)
            try #require(lan.masters == [0])
            lan.partition([[0], [1, 2]])
            lan.clientSegment = 1
            lan.run(until: lan.now + 2 * bound)
            try #require(lan.masters == [0, 1])
            try #require(lan.clientARPEntry == 1)
            // Heal at a random phase of both advert cycles, so either advert may cross first.
            lan.run(until: lan.now + UInt64.random(in: 0..<cycle, using: &lan.random))
            let forcedBefore = lan.nodes[0].router?.counters.forcedElections ?? 0
            lan.heal()
            let healedAt = lan.now
            lan.run(until: healedAt + cycle + 4 * SimulatedLAN.Conditions().maximumDelay)
            #expect(lan.masters == [0], "trial \(trial)")
            #expect(lan.announcements.contains { $0.node == 0 && $0.time >= healedAt }, "trial \(trial): A did not re-announce")
            #expect(lan.clientARPEntry == 0, "trial \(trial): the client's ARP entry names router \(lan.clientARPEntry ?? -1)")
            #expect(lan.clientReachesVirtualAddress, "trial \(trial)")
            #expect((lan.nodes[0].router?.counters.forcedElections ?? 0) > forcedBefore, "trial \(trial)")
        }
    }

    static let healTrials = 20
}
