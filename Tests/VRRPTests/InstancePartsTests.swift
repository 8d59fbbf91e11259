import Testing
import VRRP
@testable import VRRPConfig
@testable import VRRPDaemon

/// The pure parts of a running instance, without sockets or root: the advert caches, the batched
/// intake's bookkeeping, the timer table, the drop-log limit, the check jobs, the reload decision.
@Suite struct InstancePartsTests {
    static let peer = IPv4Address(198, 51, 100, 202)

    func advert(priority: UInt8 = 200) -> VRRPAdvertisement {
        VRRPAdvertisement(version: .v3, vrid: 51, priority: priority, maxAdvertisementInterval: 10,
                          addresses: [.v4(IPv4Address(198, 51, 100, 240))])
    }

    func facts(ttl: UInt8 = 255) -> IPLayerFacts {
        IPLayerFacts(source: .v4(Self.peer), destination: .v4(.vrrpMulticast), ttl: ttl)
    }

    func datagram(priority: UInt8 = 200) -> [UInt8] {
        VRRPCodec.encodeIPv4Packet(advert(priority: priority), source: Self.peer, destination: .vrrpMulticast)
    }

    // MARK: Sent adverts

    @Test func theSentCacheHoldsTheEncodingsOfOnePriorityUntilForgotten() {
        var cache = SentAdvertCache()
        #expect(!cache.holds(priority: 0))
        cache.store([[1, 2], [3]], priority: 200)
        #expect(cache.holds(priority: 200))
        #expect(!cache.holds(priority: 0))
        #expect(cache.messages == [[1, 2], [3]])
        cache.forget()
        #expect(!cache.holds(priority: 200))
    }

    // MARK: Received adverts

    @Test func theSameMessageWithTheSameFactsIsRecognised() {
        var cache = ReceivedAdvertCache()
        let message = datagram()[20...]
        do { let found = cache.advert(inMessage: message, ip: facts()); #expect(found == nil) }
        cache.remember(advert(), from: .v4(Self.peer), message: message, ip: facts(), datagram: nil)
        let hit = cache.advert(inMessage: message, ip: facts())
        #expect(hit?.0 == advert())
        #expect(hit?.from == .v4(Self.peer))
    }

    @Test func otherBytesOrOtherFactsAreDecodedAgain() {
        var cache = ReceivedAdvertCache()
        cache.remember(advert(), from: .v4(Self.peer), message: datagram()[20...], ip: facts(), datagram: nil)
        do { let found = cache.advert(inMessage: datagram(priority: 100)[20...], ip: facts()); #expect(found == nil) }
        do { let found = cache.advert(inMessage: datagram()[20...], ip: facts(ttl: 254)); #expect(found == nil) }
    }

    @Test func aWholeIPv4DatagramIsRecognisedOnlyWhenOneWasRemembered() {
        var cache = ReceivedAdvertCache()
        let packet = datagram()
        cache.remember(advert(), from: .v4(Self.peer), message: packet[20...], ip: facts(), datagram: nil)
        do { let found = cache.advert(inDatagram: packet[...]); #expect(found == nil) }
        do { let found = cache.advert(inDatagram: [][...]); #expect(found == nil) }
        cache.remember(advert(), from: .v4(Self.peer), message: packet[20...], ip: facts(), datagram: packet[...])
        do { let found = cache.advert(inDatagram: packet[...]); #expect(found?.0 == advert()) }
        do { let found = cache.advert(inDatagram: datagram(priority: 100)[...]); #expect(found == nil) }
    }

    @Test func aForgottenAdvertIsNotRecognised() {
        var cache = ReceivedAdvertCache()
        let packet = datagram()
        cache.remember(advert(), from: .v4(Self.peer), message: packet[20...], ip: facts(), datagram: packet[...])
        cache.forget()
        do { let found = cache.advert(inDatagram: packet[...]); #expect(found == nil) }
        do { let found = cache.advert(inMessage: packet[20...], ip: facts()); #expect(found == nil) }
    }

    // MARK: Batched intake

    @Test func aResignationHandledFromTheWakeSocketIsSkippedWhenTheDrainReadsItsCopy() {
        var intake = BatchedIntake()
        do { let admitted = intake.admitFromWake(stamp: 500); #expect(admitted) }
        intake.startDrain()
        do { let admitted = intake.admitFromMain(stamp: 400); #expect(admitted) }
        do { let admitted = intake.admitFromMain(stamp: 500); #expect(!admitted) }
        do { let admitted = intake.admitFromMain(stamp: 600); #expect(admitted) }
        #expect(intake.handledFromWake.isEmpty)
    }

    @Test func aResignationTheDrainAlreadyReadIsNotHandledAgainFromTheWakeSocket() {
        var intake = BatchedIntake()
        intake.startDrain()
        do { let admitted = intake.admitFromMain(stamp: 500); #expect(admitted) }
        do { let admitted = intake.admitFromWake(stamp: 500); #expect(!admitted) }
        do { let admitted = intake.admitFromWake(stamp: 700); #expect(admitted) }
        intake.startDrain()
        #expect(intake.drained.isEmpty)
    }

    @Test func datagramsWithoutAStampAreNeverTakenForCopies() {
        var intake = BatchedIntake()
        do { let admitted = intake.admitFromWake(stamp: 0); #expect(admitted) }
        intake.startDrain()
        do { let admitted = intake.admitFromMain(stamp: 0); #expect(admitted) }
        do { let admitted = intake.admitFromWake(stamp: 0); #expect(admitted) }
    }

    @Test func theWakeSocketsMemoryIsBounded() {
        var intake = BatchedIntake()
        for stamp in 1...UInt64(BatchedIntake.wakeMemory + 4) { let admitted = intake.admitFromWake(stamp: stamp); #expect(admitted) }
        #expect(intake.handledFromWake.count == BatchedIntake.wakeMemory)
        #expect(intake.handledFromWake.first == 5)
        intake.startDrain()
        do { let admitted = intake.admitFromMain(stamp: 1); #expect(admitted) }  // forgotten: handled twice rather than kept forever
    }

    @Test func aDatagramIsHandledAsOfItsArrivalNeverLaterThanNow() {
        #expect(BatchedIntake.handledAt(arrival: 900, now: 1000) == 900)
        #expect(BatchedIntake.handledAt(arrival: 1100, now: 1000) == 1000)
        #expect(BatchedIntake.handledAt(arrival: 0, now: 1000) == 1000)
    }

    // MARK: Timers and logs

    @Test func theTimerTableKeepsOneDeadlinePerKindAndKnowsTheEarliest() {
        var timers = TimerTable()
        #expect(timers.earliest == nil)
        timers[.adver] = 300
        timers[.masterDown] = 200
        timers[.preemptDelay] = 400
        #expect(timers.earliest == 200)
        timers[.masterDown] = nil
        #expect(timers[.masterDown] == nil)
        #expect(timers.earliest == 300)
        #expect(earliest(nil, 5) == 5)
        #expect(earliest(7, nil) == 7)
    }

    @Test func aDropReasonIsLoggedOncePerPeriod() {
        var log = DropLogLimiter()
        let t0: UInt64 = 50_000_000_000
        do { let admitted = log.allows("unknown-unicast-peer", now: t0); #expect(admitted) }
        do { let admitted = log.allows("unknown-unicast-peer", now: t0 + DropLogLimiter.period - 1); #expect(!admitted) }
        do { let admitted = log.allows("malformed-ttl", now: t0 + 1); #expect(admitted) }
        do { let admitted = log.allows("unknown-unicast-peer", now: t0 + DropLogLimiter.period); #expect(admitted) }
    }

    @Test func aDropAsOfAnEarlierArrivalThanTheLastLineIsInsideItsPeriod() {
        var log = DropLogLimiter()
        do { let admitted = log.allows("x", now: 20_000_000_000); #expect(admitted) }
        do { let admitted = log.allows("x", now: 19_000_000_000); #expect(!admitted) }  // before: an unsigned underflow trapped here
    }

    // MARK: Checks and reloads

    func instances(_ yaml: String) throws -> [InstanceConfig] {
        try DaemonConfig.parse(yaml, file: "vrrpd.yaml").instances
    }

    @Test func checkJobsCarryTheIndexOfTheirCheckInTheSet() throws {
        let track = try trackConfig("""
            tcp:
              - {address: 127.0.0.1:6443}
            scripts:
              - {name: apiserver, command: /bin/true}
            """)
        let set = CheckSet(track)
        let jobs = CheckSet.jobs(track, instance: 3)
        #expect(jobs.map(\.index) == [0, 1])
        #expect(jobs.map(\.name) == set.checks.map(\.name))
        #expect(jobs.allSatisfy { $0.instance == 3 })
        guard case .script = jobs[0].kind, case .tcp = jobs[1].kind else {
            Issue.record("jobs out of the set's order")
            return
        }
    }

    @Test func aReloadIsAdoptedUnlessTheSocketOrAVIPsPrefixChanges() throws {
        func instance(_ extra: String = "", vrid: Int = 51, vips: String = "[198.51.100.62/26]") throws -> InstanceConfig {
            try #require(try instances("""
                instances:
                  - name: api
                    interface: eth0
                    vrid: \(vrid)
                    vips: \(vips)
                \(extra)
                """).first)
        }
        let running = try instance()
        #expect(Instance.canAdopt(try instance("    priority: 50"), running: running))
        #expect(Instance.canAdopt(try instance(vips: "[198.51.100.62/26, 198.51.100.63/26]"), running: running))
        #expect(!Instance.canAdopt(try instance(vrid: 52), running: running))
        #expect(!Instance.canAdopt(try instance(vips: "[198.51.100.62/24]"), running: running))
        #expect(!Instance.canAdopt(try instance("    version: 2"), running: running))
    }
}
