import Testing
import VRRP

@Suite("VRRP router: reconfiguration without restart (SIGHUP)")
struct RouterReconfigureTests {
    let extraVIP = ipv4("198.51.100.101")

    @Test func masterSwapsOnlyTheChangedAddressesAndAdvertisesAtOnce() throws {
        var (r, since) = try startedMaster(configuration())
        var new = configuration()
        new.virtualAddresses = [extraVIP]
        let actions = try r.reconfigure(new, now: since)
        #expect(actions == [
            .removeVirtualAddresses([testVIP]),
            .addVirtualAddresses([extraVIP]),
            .sendGratuitousARP([extraVIP]),
            .sendAdvertisement(advert(priority: 100, addresses: [extraVIP])),
            .armTimer(.adver, deadline: since.advanced(byNanoseconds: second)),
        ])
        #expect(r.state == .master)
        #expect(r.counters.transitions == 2)
    }

    @Test func masterAdvertisesANewIntervalAndPriorityWithoutLeavingMaster() throws {
        var (r, since) = try startedMaster(configuration())
        let actions = try r.reconfigure(configuration(priority: 120, interval: 10), now: since)
        #expect(actions == [
            .sendAdvertisement(advert(priority: 120, interval: 10)),
            .armTimer(.adver, deadline: since.advanced(byNanoseconds: 100 * millisecond)),
        ])
        #expect(r.effectivePriority == 120)
    }

    @Test func unchangedConfigurationDoesNothing() throws {
        var (r, since) = try startedMaster(configuration())
        #expect(try r.reconfigure(configuration(), now: since).isEmpty)
    }

    @Test func backupWithARaisedPriorityRecomputesMasterDown() throws {
        var r = try startedBackup(configuration(priority: 100))
        _ = r.handle(.advertisementReceived(advert(priority: 200), from: routerB), now: at(second))
        let actions = try r.reconfigure(configuration(priority: 150), now: at(2 * second))
        #expect(actions == [.armTimer(.masterDown, deadline: at(second + VRRPRouter.masterDownInterval(priority: 150, masterAdverInterval: 100)))])
    }

    @Test func backupReconfiguredAsAddressOwnerBecomesMasterAtOnce() throws {
        var r = try startedBackup(configuration(priority: 100))
        let actions = try r.reconfigure(configuration(priority: 255), now: at(second))
        #expect(actions.contains(.stateChanged(from: .backup, to: .master, reason: "reconfigured as address owner (priority 255)")))
    }

    @Test func identityOfTheVirtualRouterCannotChange() throws {
        var r = try startedBackup(configuration())
        var otherVRID = configuration()
        otherVRID.vrid = 52
        #expect(throws: VRRPRouter.ConfigurationError(field: "vrid", problem: "cannot change while running (51 -> 52); restart the instance")) {
            try r.reconfigure(otherVRID, now: at(1))
        }
        #expect(throws: VRRPRouter.ConfigurationError.self) { try r.reconfigure(configuration(primary: routerB), now: at(1)) }
        #expect(throws: VRRPRouter.ConfigurationError.self) { try r.reconfigure(configuration(version: .v2), now: at(1)) }
        #expect(r.configuration == configuration())
    }

    @Test func invalidNewConfigurationIsRejectedAndTheOldKept() throws {
        var r = try startedBackup(configuration())
        #expect(throws: VRRPRouter.ConfigurationError.self) { try r.reconfigure(configuration(interval: 0), now: at(1)) }
        #expect(r.configuration.advertisementInterval == 100)
    }

    @Test func turningPreemptOffEndsAPendingPreemptDelay() throws {
        var r = try startedBackup(configuration(priority: 200, preemptDelay: .seconds(10)))
        _ = r.handle(.advertisementReceived(advert(priority: 100), from: routerB), now: at(second))
        let actions = try r.reconfigure(configuration(priority: 200, preempt: false, preemptDelay: .seconds(10)), now: at(2 * second))
        #expect(actions == [.cancelTimer(.preemptDelay)])
        #expect(r.armedTimers[.preemptDelay] == nil)
    }
}
