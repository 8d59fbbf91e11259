import Testing
import VRRP

let second: UInt64 = 1_000_000_000
let millisecond: UInt64 = 1_000_000

func at(_ nanoseconds: UInt64) -> Instant { Instant(nanoseconds: nanoseconds) }

let routerA = ipv4("198.51.100.1")
let routerB = ipv4("198.51.100.2")
let routerC = ipv4("198.51.100.3")

func configuration(
    priority: UInt8 = 100, version: VRRPVersion = .v3, interval: UInt16 = 100, primary: IPAddress = routerA,
    preempt: Bool = true, preemptDelay: Duration = .zero, authentication: VRRPv2Authentication = .none
) -> VRRPRouter.Configuration {
    VRRPRouter.Configuration(vrid: 51, priority: priority, version: version, advertisementInterval: interval,
                             primaryAddress: primary, virtualAddresses: [testVIP], preempt: preempt,
                             preemptDelay: preemptDelay, authentication: authentication)
}

func router(_ configuration: VRRPRouter.Configuration) throws -> VRRPRouter {
    try VRRPRouter(configuration: configuration)
}

/// A router that has started at time zero and is Backup.
func startedBackup(_ configuration: VRRPRouter.Configuration) throws -> VRRPRouter {
    var router = try VRRPRouter(configuration: configuration)
    _ = router.handle(.startup, now: .zero)
    try #require(router.state == .backup)
    return router
}

/// A router that became Master at `masterAt` through Master_Down_Timer.
func startedMaster(_ configuration: VRRPRouter.Configuration) throws -> (VRRPRouter, Instant) {
    var router = try startedBackup(configuration)
    let deadline = try #require(router.armedTimers[.masterDown])
    _ = router.handle(.timerFired(.masterDown), now: deadline)
    try #require(router.state == .master)
    return (router, deadline)
}

func advert(priority: UInt8, interval: UInt16 = 100, version: VRRPVersion = .v3, vrid: UInt8 = 51,
            addresses: [IPAddress] = [testVIP], authentication: VRRPv2Authentication = .none) -> VRRPAdvertisement {
    VRRPAdvertisement(version: version, vrid: vrid, priority: priority, maxAdvertisementInterval: interval,
                      addresses: addresses, authentication: authentication)
}

extension VRRPRouter.Action {
    var isStateChange: Bool {
        if case .stateChanged = self { return true }
        return false
    }

    var isReannouncement: Bool {
        if case .reannounceVirtualAddresses = self { return true }
        return false
    }

    var sentPriority: UInt8? {
        if case .sendAdvertisement(let advert) = self { return advert.priority }
        return nil
    }
}
