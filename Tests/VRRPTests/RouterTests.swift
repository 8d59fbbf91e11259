import Testing
import VRRP

// Priority 100 at a 1 s interval: Skew_Time = 156/256 s, Master_Down_Interval = 3 s + Skew_Time.
let skew100: UInt64 = 609_375_000
let masterDown100: UInt64 = 3 * second + skew100

@Suite("VRRP router: timing formulas (RFC 5798 §6.1)")
struct RouterTimingTests {
    @Test func skewTimeIsTheRFCFormulaInNanoseconds() {
        #expect(VRRPRouter.skewTime(priority: 100, masterAdverInterval: 100) == skew100)
        #expect(VRRPRouter.skewTime(priority: 254, masterAdverInterval: 100) == 7_812_500)
        #expect(VRRPRouter.skewTime(priority: 254, masterAdverInterval: 1) == 78_125)
        #expect(VRRPRouter.skewTime(priority: 1, masterAdverInterval: 4095) == 255 * 4095 * 10_000_000 / 256)
    }

    @Test func masterDownIntervalIsThreeIntervalsPlusSkew() {
        #expect(VRRPRouter.masterDownInterval(priority: 100, masterAdverInterval: 100) == masterDown100)
        #expect(VRRPRouter.masterDownInterval(priority: 254, masterAdverInterval: 1) == 30 * millisecond + 78_125)
    }

    @Test func v2SkewTimeIsAFractionOfOneSecondWhateverTheInterval() {
        // RFC 3768 §6.1: Skew_Time = (256 − Priority) / 256 seconds.
        #expect(VRRPRouter.skewTime(priority: 100, masterAdverInterval: 300, version: .v2) == skew100)
        #expect(VRRPRouter.masterDownInterval(priority: 100, masterAdverInterval: 300, version: .v2) == 9 * second + skew100)
    }

    @Test func v2BackupWaitsThreeIntervalsPlusTheV2SkewTime() throws {
        var r = try router(configuration(version: .v2, interval: 300))
        #expect(r.handle(.startup, now: .zero).last == .armTimer(.masterDown, deadline: at(9 * second + skew100)))
    }

    @Test func higherPriorityHasShorterMasterDownInterval() {
        #expect(VRRPRouter.masterDownInterval(priority: 254, masterAdverInterval: 10)
                < VRRPRouter.masterDownInterval(priority: 253, masterAdverInterval: 10))
    }
}

@Suite("VRRP router: Initialize (RFC 5798 §6.4.1)")
struct RouterInitializeTests {
    @Test func startupBelowOwnerPriorityEntersBackupWithMasterDownTimer() throws {
        var r = try router(configuration(priority: 100))
        let actions = r.handle(.startup, now: at(5 * second))
        #expect(actions == [
            .stateChanged(from: .initialize, to: .backup, reason: "startup"),
            .armTimer(.masterDown, deadline: at(5 * second + masterDown100)),
        ])
        #expect(r.masterAdverInterval == 100)
    }

    @Test func startupAsAddressOwnerBecomesMasterAtOnce() throws {
        var r = try router(configuration(priority: 255))
        let actions = r.handle(.startup, now: at(0))
        #expect(actions == [
            .stateChanged(from: .initialize, to: .master, reason: "startup as address owner (priority 255)"),
            .sendAdvertisement(advert(priority: 255)),
            .addVirtualAddresses([testVIP]),
            .sendGratuitousARP([testVIP]),
            .armTimer(.adver, deadline: at(second)),
        ])
    }

    @Test func startupWithTheLinkDownEntersFault() throws {
        var r = try router(configuration())
        #expect(r.handle(.interfaceDown, now: at(0)).isEmpty)
        let actions = r.handle(.startup, now: at(1))
        #expect(actions == [.stateChanged(from: .initialize, to: .fault, reason: "startup while interface down")])
    }

    @Test func advertisementBeforeStartupIsDroppedAsNotRunning() throws {
        var r = try router(configuration())
        _ = r.handle(.advertisementReceived(advert(priority: 200), from: routerB), now: at(0))
        #expect(r.counters.dropped[.notRunning] == 1)
        #expect(r.state == .initialize)
    }

    @Test func repeatedStartupChangesNothing() throws {
        var r = try startedBackup(configuration())
        #expect(r.handle(.startup, now: at(1)).isEmpty)
        #expect(r.counters.transitions == 1)
    }
}

@Suite("VRRP router: Backup (RFC 5798 §6.4.2)")
struct RouterBackupTests {
    @Test func masterDownTimerMakesBackupMasterWithAdvertAddressesAndARP() throws {
        var r = try startedBackup(configuration())
        let actions = r.handle(.timerFired(.masterDown), now: at(masterDown100))
        #expect(actions == [
            .cancelTimer(.masterDown),
            .stateChanged(from: .backup, to: .master, reason: "no advertisement for Master_Down_Interval since start"),
            .sendAdvertisement(advert(priority: 100)),
            .addVirtualAddresses([testVIP]),
            .sendGratuitousARP([testVIP]),
            .armTimer(.adver, deadline: at(masterDown100 + second)),
        ])
        #expect(r.counters.becameMaster == 1)
    }

    @Test func higherPriorityAdvertResetsMasterDownTimer() throws {
        var r = try startedBackup(configuration())
        let actions = r.handle(.advertisementReceived(advert(priority: 200), from: routerB), now: at(2 * second))
        #expect(actions == [.armTimer(.masterDown, deadline: at(2 * second + masterDown100))])
        #expect(r.masterAddress == routerB)
        #expect(r.masterPriority == 200)
    }

    @Test func equalPriorityAdvertIsAcceptedRegardlessOfAddress() throws {
        var r = try startedBackup(configuration(primary: routerC))
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(second))
        #expect(actions == [.armTimer(.masterDown, deadline: at(second + masterDown100))])
    }

    @Test func lowerPriorityAdvertIsDiscardedWhenPreempting() throws {
        var r = try startedBackup(configuration(priority: 200))
        let before = r.armedTimers
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(second))
        #expect(actions == [.advertisementDiscarded(.lowerPriority, from: routerB)])
        #expect(r.armedTimers == before)
        #expect(r.counters.dropped[.lowerPriority] == 1)
    }

    @Test func lowerPriorityAdvertIsAcceptedWithoutPreempt() throws {
        var r = try startedBackup(configuration(priority: 200, preempt: false))
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(second))
        let expected = VRRPRouter.masterDownInterval(priority: 200, masterAdverInterval: 100)
        #expect(actions == [.armTimer(.masterDown, deadline: at(second + expected))])
    }

    @Test func priorityZeroAdvertSetsMasterDownTimerToSkewTime() throws {
        var r = try startedBackup(configuration())
        _ = r.handle(.advertisementReceived(advert(priority: 200), from: routerB), now: at(second))
        let actions = r.handle(.advertisementReceived(advert(priority: 0), from: routerB), now: at(2 * second))
        #expect(actions == [.armTimer(.masterDown, deadline: at(2 * second + skew100))])
        let takeover = r.handle(.timerFired(.masterDown), now: at(2 * second + skew100))
        #expect(takeover.contains(.stateChanged(from: .backup, to: .master, reason: "198.51.100.2 resigned (priority 0); Skew_Time elapsed")))
    }

    @Test func v3BackupAdoptsTheMastersAdvertisedInterval() throws {
        var r = try startedBackup(configuration(interval: 100))
        let actions = r.handle(.advertisementReceived(advert(priority: 200, interval: 10), from: routerB), now: at(second))
        #expect(r.masterAdverInterval == 10)
        let expected = 3 * 100 * millisecond + VRRPRouter.skewTime(priority: 100, masterAdverInterval: 10)
        #expect(actions == [.armTimer(.masterDown, deadline: at(second + expected))])
    }

    @Test func v3BackupDiscardsAnIntervalBeyondTheBoundAndKeepsItsTimer() throws {
        // One forged advert (priority 255, 4095 cs) made every Backup wait ~123 s.
        var r = try startedBackup(configuration(interval: 10))
        let before = try #require(r.armedTimers[.masterDown])
        let actions = r.handle(.advertisementReceived(advert(priority: 255, interval: 4095), from: routerC), now: at(second / 100))
        #expect(actions == [.advertisementDiscarded(.advertisementIntervalTooLong, from: routerC)])
        #expect(r.masterAdverInterval == 10)
        #expect(r.armedTimers[.masterDown] == before)
        #expect(r.counters.dropped[.advertisementIntervalTooLong] == 1)
        // Exactly ten times ours is still adopted.
        _ = r.handle(.advertisementReceived(advert(priority: 200, interval: 100), from: routerB), now: at(second / 50))
        #expect(r.masterAdverInterval == 100)
    }

    @Test func aMasterIgnoresAForgedHigherPriorityWithAnIntervalBeyondTheBound() throws {
        var (r, since) = try startedMaster(configuration(interval: 10))
        let actions = r.handle(.advertisementReceived(advert(priority: 255, interval: 4095), from: routerC),
                               now: since.advanced(byNanoseconds: millisecond))
        #expect(actions == [.advertisementDiscarded(.advertisementIntervalTooLong, from: routerC)])
        #expect(r.state == .master)
    }

    @Test func factorZeroAdoptsAnyIntervalAsTheRFCDoes() throws {
        var config = configuration(interval: 10)
        config.acceptedIntervalFactor = 0
        var r = try startedBackup(config)
        _ = r.handle(.advertisementReceived(advert(priority: 255, interval: 4095), from: routerC), now: at(second))
        #expect(r.masterAdverInterval == 4095)
        #expect(config.acceptedIntervalLimit == 4095)
        config.acceptedIntervalFactor = 10
        config.advertisementInterval = 1000
        #expect(config.acceptedIntervalLimit == 4095)  // capped at what VRRPv3 can carry
    }

    @Test func v2BackupDiscardsAdvertWithAnotherAdverInt() throws {
        var r = try startedBackup(configuration(version: .v2, interval: 100))
        let actions = r.handle(.advertisementReceived(advert(priority: 200, interval: 200, version: .v2), from: routerB), now: at(second))
        #expect(actions == [.advertisementDiscarded(.advertisementIntervalMismatch, from: routerB)])
        #expect(r.masterAdverInterval == 100)
    }

    @Test func preemptDelayAcceptsALowerPriorityMasterUntilItEnds() throws {
        var r = try startedBackup(configuration(priority: 200, preemptDelay: .seconds(10)))
        let first = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(second))
        let down = VRRPRouter.masterDownInterval(priority: 200, masterAdverInterval: 100)
        #expect(first == [.armTimer(.preemptDelay, deadline: at(11 * second)),
                          .armTimer(.masterDown, deadline: at(second + down))])
        let second_ = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(2 * second))
        #expect(second_ == [.armTimer(.masterDown, deadline: at(2 * second + down))])
        let fired = r.handle(.timerFired(.preemptDelay), now: at(11 * second))
        #expect(fired.first == .cancelTimer(.masterDown))
        #expect(fired.contains(.stateChanged(from: .backup, to: .master,
            reason: "preempt delay elapsed: master 198.51.100.2 has priority 100 < ours 200")))
    }

    @Test func preemptDelayStopsWhenAHigherPriorityMasterAppears() throws {
        var r = try startedBackup(configuration(priority: 200, preemptDelay: .seconds(10)))
        _ = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(second))
        let actions = r.handle(.advertisementReceived(advert(priority: 250), from: routerC), now: at(2 * second))
        #expect(actions.first == .cancelTimer(.preemptDelay))
        #expect(r.armedTimers[.preemptDelay] == nil)
    }

    @Test func shutdownCancelsMasterDownTimerAndReturnsToInitialize() throws {
        var r = try startedBackup(configuration())
        #expect(r.handle(.shutdown, now: at(second)) == [
            .cancelTimer(.masterDown), .stateChanged(from: .backup, to: .initialize, reason: "shutdown"),
        ])
    }
}

@Suite("VRRP router: Master (RFC 5798 §6.4.3)")
struct RouterMasterTests {
    @Test func adverTimerSendsAdvertAndRearmsOneIntervalLater() throws {
        var (r, since) = try startedMaster(configuration())
        let fire = since.advanced(byNanoseconds: second)
        #expect(r.handle(.timerFired(.adver), now: fire) == [
            .sendAdvertisement(advert(priority: 100)),
            .armTimer(.adver, deadline: fire.advanced(byNanoseconds: second)),
        ])
    }

    @Test func priorityZeroAdvertIsAnsweredAtOnceAndRestartsAdverTimer() throws {
        var (r, since) = try startedMaster(configuration())
        let now = since.advanced(byNanoseconds: 300 * millisecond)
        #expect(r.handle(.advertisementReceived(advert(priority: 0), from: routerB), now: now) == [
            .sendAdvertisement(advert(priority: 100)),
            .armTimer(.adver, deadline: now.advanced(byNanoseconds: second)),
        ])
        #expect(r.state == .master)
    }

    @Test func higherPriorityAdvertMakesMasterBackupWithTheAdvertisedInterval() throws {
        var (r, since) = try startedMaster(configuration())
        let now = since.advanced(byNanoseconds: 100 * millisecond)
        let actions = r.handle(.advertisementReceived(advert(priority: 150, interval: 50), from: routerB), now: now)
        let down = 3 * 500 * millisecond + VRRPRouter.skewTime(priority: 100, masterAdverInterval: 50)
        #expect(actions == [
            .sendAdvertisement(advert(priority: 100)),
            .cancelTimer(.adver),
            .removeVirtualAddresses([testVIP]),
            .stateChanged(from: .master, to: .backup, reason: "advertisement from 198.51.100.2 with priority 150 > ours 100"),
            .armTimer(.masterDown, deadline: now.advanced(byNanoseconds: down)),
        ])
        #expect(r.masterAdverInterval == 50)
    }

    @Test func equalPriorityFromAHigherAddressWinsTheTieBreak() throws {
        var (r, since) = try startedMaster(configuration(primary: routerA))
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: since)
        #expect(actions.contains(.stateChanged(from: .master, to: .backup,
            reason: "advertisement from 198.51.100.2 with equal priority 100 and higher address than ours 198.51.100.1")))
    }

    @Test func masterSteppingDownSendsAPartingAdvertAtItsOwnPriority() throws {
        // So that the other Master of a healed partition hears a lower priority and re-announces.
        var (r, since) = try startedMaster(configuration(priority: 200))
        let actions = r.handle(.advertisementReceived(advert(priority: 250), from: routerB), now: since)
        #expect(actions.first == .sendAdvertisement(advert(priority: 200)))
        #expect(actions.filter { $0.sentPriority != nil }.count == 1)
        #expect(r.state == .backup)
    }

    @Test func equalPriorityFromALowerAddressLosesAndForcesANewElection() throws {
        var (r, since) = try startedMaster(configuration(primary: routerC))
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: since.advanced(byNanoseconds: second))
        #expect(actions == [
            .advertisementDiscarded(.lowerPriority, from: routerB),
            .sendAdvertisement(advert(priority: 100)),
            .reannounceVirtualAddresses([testVIP], reason: "advertisement from 198.51.100.2 with lower priority 100 (ours 100) while Master: forcing a new election"),
        ])
        #expect(r.state == .master)
    }

    @Test func lowerPriorityAdvertIsAnsweredWithAnAdvertAndAReannouncement() throws {
        var (r, since) = try startedMaster(configuration(priority: 200))
        let now = since.advanced(byNanoseconds: 1500 * millisecond)
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: now)
        #expect(actions == [
            .advertisementDiscarded(.lowerPriority, from: routerB),
            .sendAdvertisement(advert(priority: 200)),
            .reannounceVirtualAddresses([testVIP], reason: "advertisement from 198.51.100.2 with lower priority 100 (ours 200) while Master: forcing a new election"),
        ])
        #expect(r.counters.forcedElections == 1)
        #expect(r.counters.dropped[.lowerPriority] == 1)
        #expect(r.state == .master)
    }

    @Test func forcingANewElectionLeavesTheAdverTimerAlone() throws {
        var (r, since) = try startedMaster(configuration(priority: 200))
        _ = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: since.advanced(byNanoseconds: 1500 * millisecond))
        #expect(r.armedTimers[.adver] == since.advanced(byNanoseconds: second))
    }

    @Test func forcedElectionsAreLimitedToOnePerAdvertisementInterval() throws {
        var (r, since) = try startedMaster(configuration(priority: 200))
        var reannouncedAt: [UInt64] = []
        // A lower-priority Master that cannot hear us, advertising every 100 ms for 3 s.
        for step in UInt64(10)...40 {
            let offset = step * 100 * millisecond
            let actions = r.handle(.advertisementReceived(advert(priority: 100, interval: 10), from: routerB),
                                   now: since.advanced(byNanoseconds: offset))
            if actions.contains(where: { $0.isReannouncement }) { reannouncedAt.append(offset) }
        }
        #expect(reannouncedAt == [1, 2, 3, 4].map { $0 * second })
        #expect(r.counters.forcedElections == 4)
        #expect(r.counters.dropped[.lowerPriority] == 31)
    }

    @Test func anotherLowerMasterWithinTheIntervalIsAnsweredToo() throws {
        // Three took over together; each loser may re-announce after our first answer.
        var (r, since) = try startedMaster(configuration(priority: 200))
        _ = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: since.advanced(byNanoseconds: second))
        let actions = r.handle(.advertisementReceived(advert(priority: 150), from: routerC), now: since.advanced(byNanoseconds: second + 1))
        #expect(actions.contains { $0.isReannouncement })
        #expect(r.counters.forcedElections == 2)
    }

    @Test func forcedElectionsPerIntervalAreCappedWhateverTheSources() throws {
        var (r, since) = try startedMaster(configuration(priority: 200))
        for host in UInt8(10)..<30 {
            _ = r.handle(.advertisementReceived(advert(priority: 100), from: .v4(IPv4Address(198, 51, 100, host))),
                         now: since.advanced(byNanoseconds: second + UInt64(host)))
        }
        #expect(r.counters.forcedElections == UInt64(VRRPRouter.forcedElectionsPerInterval))
    }

    @Test func lowerPriorityMasterHeardRightAfterOurTakeoverIsAnswered() throws {
        // Both Backups' timers fired together: the loser's gratuitous ARP may have reached the
        // clients after ours, so its parting advert must still make us re-announce.
        var (r, since) = try startedMaster(configuration(priority: 200))
        let actions = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: since.advanced(byNanoseconds: 200_000))
        #expect(actions.contains { $0.isReannouncement })
        #expect(r.counters.forcedElections == 1)
    }

    @Test func gracefulShutdownSendsPriorityZeroThenRemovesAddresses() throws {
        var (r, since) = try startedMaster(configuration())
        #expect(r.handle(.shutdown, now: since) == [
            .sendAdvertisement(advert(priority: 0)),
            .cancelTimer(.adver),
            .removeVirtualAddresses([testVIP]),
            .stateChanged(from: .master, to: .initialize, reason: "shutdown: resigned with priority 0"),
        ])
        #expect(r.counters.priorityZeroSent == 1)
    }

    @Test func restartAfterShutdownStartsAgainAsBackup() throws {
        var (r, since) = try startedMaster(configuration())
        _ = r.handle(.shutdown, now: since)
        _ = r.handle(.startup, now: since.advanced(byNanoseconds: second))
        #expect(r.state == .backup)
        #expect(r.counters.transitions == 4)
    }
}

@Suite("VRRP router: receive checks that need configuration (RFC 5798 §7.1)")
struct RouterReceiveCheckTests {
    func drop(_ advertisement: VRRPAdvertisement, from source: IPAddress = routerB,
              _ config: VRRPRouter.Configuration = configuration()) throws -> VRRPRouter.DropReason? {
        var r = try startedBackup(config)
        let actions = r.handle(.advertisementReceived(advertisement, from: source), now: at(second))
        guard case .advertisementDiscarded(let reason, _)? = actions.first else { return nil }
        #expect(r.counters.dropped[reason] == 1)
        #expect(r.counters.advertisementsReceived == 0)
        return reason
    }

    @Test func anotherVRIDIsDropped() throws {
        #expect(try drop(advert(priority: 200, vrid: 52)) == .vridMismatch)
    }

    @Test func anotherVersionIsDropped() throws {
        #expect(try drop(advert(priority: 200, version: .v2)) == .versionMismatch)
    }

    @Test func ourOwnAdvertLoopedBackIsDropped() throws {
        #expect(try drop(advert(priority: 200), from: routerA) == .ownAdvertisement)
    }

    @Test func anotherAddressFamilyIsDropped() throws {
        #expect(try drop(advert(priority: 200), from: ipv6("fe80::2")) == .addressFamilyMismatch)
    }

    @Test func addressOwnerDiscardsEveryAdvert() throws {
        var r = try router(configuration(priority: 255))
        _ = r.handle(.startup, now: .zero)
        let actions = r.handle(.advertisementReceived(advert(priority: 0), from: routerB), now: at(1))
        #expect(actions == [.advertisementDiscarded(.addressOwner, from: routerB)])
    }

    @Test func v2AuthTypeOtherThanConfiguredIsDropped() throws {
        let config = configuration(version: .v2, authentication: .simplePassword("secret"))
        #expect(try drop(advert(priority: 200, version: .v2), config) == .authTypeMismatch)
    }

    @Test func v2WrongPasswordIsDropped() throws {
        let config = configuration(version: .v2, authentication: .simplePassword("secret"))
        #expect(try drop(advert(priority: 200, version: .v2, authentication: .simplePassword("guess")), config) == .authFailure)
    }

    @Test func v2RightPasswordIsAccepted() throws {
        var r = try startedBackup(configuration(version: .v2, authentication: .simplePassword("secret")))
        _ = r.handle(.advertisementReceived(advert(priority: 200, version: .v2, authentication: .simplePassword("secret")), from: routerB), now: at(1))
        #expect(r.counters.advertisementsReceived == 1)
    }

    @Test func v3ZeroIntervalIsDropped() throws {
        #expect(try drop(advert(priority: 200, interval: 0)) == .advertisementIntervalZero)
    }

    @Test func differentVirtualAddressesAreCountedButAccepted() throws {
        var r = try startedBackup(configuration())
        let actions = r.handle(.advertisementReceived(advert(priority: 200, addresses: [ipv4("198.51.100.99")]), from: routerB), now: at(1))
        #expect(r.counters.addressListMismatches == 1)
        #expect(actions.count == 1)
        #expect(r.masterAddress == routerB)
    }

    @Test func rejectedPacketsAreCountedByKind() throws {
        var r = try startedBackup(configuration())
        _ = r.handle(.packetRejected(.ttlNot255(64)), now: at(1))
        _ = r.handle(.packetRejected(.ttlNot255(1)), now: at(2))
        _ = r.handle(.packetRejected(.noAddresses), now: at(3))
        #expect(r.counters.dropped[.malformed(.ttlNot255)] == 2)
        #expect(r.counters.dropped[.malformed(.noAddresses)] == 1)
        #expect(r.counters.droppedTotal == 3)
    }
}

@Suite("VRRP router: health tracking and Fault")
struct RouterFaultTests {
    @Test func priorityZeroAsMasterResignsAndEntersFault() throws {
        var (r, since) = try startedMaster(configuration())
        #expect(r.handle(.priorityChanged(effective: 0), now: since) == [
            .sendAdvertisement(advert(priority: 0)),
            .cancelTimer(.adver),
            .removeVirtualAddresses([testVIP]),
            .stateChanged(from: .master, to: .fault, reason: "effective priority 100 -> 0"),
        ])
    }

    @Test func linkDownAsMasterRemovesAddressesWithoutAdvert() throws {
        var (r, since) = try startedMaster(configuration())
        #expect(r.handle(.interfaceDown, now: since) == [
            .cancelTimer(.adver),
            .removeVirtualAddresses([testVIP]),
            .stateChanged(from: .master, to: .fault, reason: "interface down"),
        ])
    }

    @Test func faultSendsNothingAndIgnoresItsOldTimers() throws {
        var (r, since) = try startedMaster(configuration())
        _ = r.handle(.interfaceDown, now: since)
        #expect(r.armedTimers.isEmpty)
        #expect(r.handle(.timerFired(.adver), now: since.advanced(byNanoseconds: second)).isEmpty)
        #expect(r.handle(.advertisementReceived(advert(priority: 0), from: routerB), now: since).isEmpty)
    }

    @Test func leavingFaultEntersBackupWithAFreshMasterDownTimer() throws {
        var r = try startedBackup(configuration())
        _ = r.handle(.interfaceDown, now: at(second))
        #expect(r.handle(.interfaceUp, now: at(5 * second)) == [
            .stateChanged(from: .fault, to: .backup, reason: "fault cleared (interface up)"),
            .armTimer(.masterDown, deadline: at(5 * second + masterDown100)),
        ])
    }

    @Test func faultPersistsWhileEitherCauseRemains() throws {
        var r = try startedBackup(configuration())
        _ = r.handle(.interfaceDown, now: at(1))
        _ = r.handle(.priorityChanged(effective: 0), now: at(2))
        #expect(r.handle(.interfaceUp, now: at(3)).isEmpty)
        #expect(r.state == .fault)
        _ = r.handle(.priorityChanged(effective: 90), now: at(4))
        #expect(r.state == .backup)
    }

    @Test func ownerLeavingFaultBecomesMasterAtOnce() throws {
        var r = try router(configuration(priority: 255))
        _ = r.handle(.startup, now: .zero)
        _ = r.handle(.interfaceDown, now: at(1))
        _ = r.handle(.interfaceUp, now: at(2))
        #expect(r.state == .master)
    }

    @Test func nonOwnerEffectivePriorityIsClampedBelowOwner() throws {
        var r = try startedBackup(configuration(priority: 250))
        _ = r.handle(.priorityChanged(effective: 255), now: at(1))
        #expect(r.effectivePriority == 254)
    }

    @Test func masterAdvertisesItsEffectivePriority() throws {
        var (r, since) = try startedMaster(configuration(priority: 200))
        _ = r.handle(.priorityChanged(effective: 150), now: since)
        let actions = r.handle(.timerFired(.adver), now: since.advanced(byNanoseconds: second))
        #expect(actions.first?.sentPriority == 150)
    }

    @Test func backupRaisedAbovePreemptsLowerMasterByDiscardingItsAdverts() throws {
        var r = try startedBackup(configuration(priority: 100))
        _ = r.handle(.advertisementReceived(advert(priority: 150), from: routerB), now: at(second))
        _ = r.handle(.priorityChanged(effective: 200), now: at(2 * second))
        let actions = r.handle(.advertisementReceived(advert(priority: 150), from: routerB), now: at(2 * second))
        #expect(actions == [.advertisementDiscarded(.lowerPriority, from: routerB)])
    }
}

@Suite("VRRP router: timers and transitions")
struct RouterTimerTests {
    @Test func staleTimerIsIgnored() throws {
        var r = try startedBackup(configuration())
        #expect(r.handle(.timerFired(.adver), now: at(10 * second)).isEmpty)
        #expect(r.handle(.timerFired(.preemptDelay), now: at(10 * second)).isEmpty)
        #expect(r.state == .backup)
    }

    @Test func timerFiringEarlyIsRearmedForItsDeadline() throws {
        var r = try startedBackup(configuration())
        #expect(r.handle(.timerFired(.masterDown), now: at(masterDown100 - 1)) == [.armTimer(.masterDown, deadline: at(masterDown100))])
        #expect(r.state == .backup)
    }

    @Test func everyTransitionIsCountedAndReported() throws {
        var r = try startedBackup(configuration())
        _ = r.handle(.timerFired(.masterDown), now: at(masterDown100))
        _ = r.handle(.interfaceDown, now: at(masterDown100 + 1))
        _ = r.handle(.interfaceUp, now: at(masterDown100 + 2))
        _ = r.handle(.shutdown, now: at(masterDown100 + 3))
        #expect(r.counters.transitions == 5)
        #expect(r.state == .initialize)
    }

    @Test func sentAndReceivedAdvertsAreCounted() throws {
        var (r, since) = try startedMaster(configuration(priority: 200))
        _ = r.handle(.timerFired(.adver), now: since.advanced(byNanoseconds: second))
        _ = r.handle(.advertisementReceived(advert(priority: 0), from: routerB), now: since.advanced(byNanoseconds: second))
        #expect(r.counters.advertisementsSent == 3)
        #expect(r.counters.advertisementsReceived == 1)
        #expect(r.counters.priorityZeroReceived == 1)
    }
}

@Suite("VRRP router: configuration validation")
struct RouterConfigurationTests {
    func problem(_ change: (inout VRRPRouter.Configuration) -> Void) -> String? {
        var config = configuration()
        change(&config)
        do {
            try config.validate()
            return nil
        } catch {
            return error.field
        }
    }

    @Test func defaultTestConfigurationIsValid() {
        #expect(problem { _ in } == nil)
    }

    @Test func eachOutOfRangeFieldIsNamed() {
        #expect(problem { $0.vrid = 0 } == "vrid")
        #expect(problem { $0.priority = 0 } == "priority")
        #expect(problem { $0.advertisementInterval = 0 } == "advertisementInterval")
        #expect(problem { $0.advertisementInterval = 4096 } == "advertisementInterval")
        #expect(problem { $0.version = .v2; $0.advertisementInterval = 150 } == "advertisementInterval")
        #expect(problem { $0.version = .v2; $0.primaryAddress = ipv6("fe80::1"); $0.virtualAddresses = [ipv6("2001:db8::1")] } == "version")
        #expect(problem { $0.virtualAddresses = [] } == "virtualAddresses")
        #expect(problem { $0.virtualAddresses = [testVIP, ipv6("2001:db8::1")] } == "virtualAddresses")
        #expect(problem { $0.virtualAddresses = [testVIP, testVIP] } == "virtualAddresses")
        #expect(problem { $0.preemptDelay = .seconds(1001) } == "preemptDelay")
        #expect(problem { $0.authentication = .simplePassword("x") } == "authentication")
        #expect(problem { $0.version = .v2; $0.authentication = .other(type: 2, data: []) } == "authentication")
    }

    @Test func invalidConfigurationCannotMakeARouter() {
        #expect(throws: VRRPRouter.ConfigurationError.self) { try VRRPRouter(configuration: configuration(priority: 0)) }
    }
}

@Suite("VRRP router: priority changes while Backup")
struct RouterBackupPriorityTests {
    @Test func raisedPriorityRecomputesMasterDownFromTheLastAdvert() throws {
        var r = try startedBackup(configuration(priority: 100))
        _ = r.handle(.advertisementReceived(advert(priority: 200), from: routerB), now: at(second))
        let actions = r.handle(.priorityChanged(effective: 254), now: at(2 * second))
        let expected = second + VRRPRouter.masterDownInterval(priority: 254, masterAdverInterval: 100)
        #expect(actions == [.armTimer(.masterDown, deadline: at(expected))])
    }

    @Test func raisedPriorityAfterAResignationRecomputesSkewTime() throws {
        var r = try startedBackup(configuration(priority: 100))
        _ = r.handle(.advertisementReceived(advert(priority: 0), from: routerB), now: at(second))
        let actions = r.handle(.priorityChanged(effective: 254), now: at(second + 1))
        #expect(actions == [.armTimer(.masterDown, deadline: at(second + VRRPRouter.skewTime(priority: 254, masterAdverInterval: 100)))])
    }
}

@Suite("VRRP router: IPv6 (VRRPv3 only)")
struct RouterIPv6Tests {
    let vip = ipv6("2001:db8::100")

    func ipv6Configuration(priority: UInt8) -> VRRPRouter.Configuration {
        VRRPRouter.Configuration(vrid: 51, priority: priority, primaryAddress: ipv6("fe80::1"), virtualAddresses: [vip])
    }

    @Test func ipv6RouterTakesOverWithItsIPv6Addresses() throws {
        var r = try router(ipv6Configuration(priority: 100))
        _ = r.handle(.startup, now: .zero)
        let actions = r.handle(.timerFired(.masterDown), now: at(masterDown100))
        #expect(actions.contains(.addVirtualAddresses([vip])))
        #expect(actions.contains(.sendGratuitousARP([vip])))
    }

    @Test func ipv6BackupTieBreaksOnTheNumericIPv6Address() throws {
        var r = try router(ipv6Configuration(priority: 100))
        _ = r.handle(.startup, now: .zero)
        _ = r.handle(.timerFired(.masterDown), now: at(masterDown100))
        let higher = r.handle(.advertisementReceived(advert(priority: 100, addresses: [vip]), from: ipv6("fe80::2")), now: at(masterDown100))
        #expect(r.state == .backup)
        #expect(higher.contains(.removeVirtualAddresses([vip])))
    }
}
