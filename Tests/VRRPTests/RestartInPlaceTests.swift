import Testing
@testable import VRRP
@testable import VRRPConfig
@testable import VRRPDaemon

/// A restart in place (SIGUSR2), with no process and no socket: what the old image hands over,
/// and how the state machine and the checks take it up.
@Suite struct RestartInPlaceTests {
    @Test func theHandoffRoundTripsWithAnyInstanceName() throws {
        let handoff = RestartHandoff(at: 5 * second, restarts: 2, instances: [
            "api": .init(master: true, goodChecks: [true, false, true]),
            "odd name=;x é": .init(master: false, goodChecks: []),
        ])
        let text = handoff.encoded()
        #expect(text.hasPrefix("1 5000000000 2 "))
        #expect(!text.contains("odd"))
        #expect(RestartHandoff.decode(text, now: 5 * second + 10 * millisecond) == handoff)
    }

    @Test func aStaleMalformedOrFutureHandoffIsIgnored() {
        let text = RestartHandoff(at: 5 * second, restarts: 1, instances: ["api": .init(master: true, goodChecks: [])]).encoded()
        #expect(RestartHandoff.decode(text, now: 5 * second + RestartHandoff.maxAgeNanoseconds) != nil)
        #expect(RestartHandoff.decode(text, now: 5 * second + RestartHandoff.maxAgeNanoseconds + 1) == nil)
        #expect(RestartHandoff.decode(text, now: 4 * second) == nil)
        for bad in ["", "2 5000000000 1", "1 x 1", "1 5000000000 0", "1 5000000000 1 617069", "1 5000000000 1 617069=X:",
                    "1 5000000000 1 617069=M:2", "1 5000000000 1 61=M", "1 5000000000 1 617=M:", "1 5000000000 1 zz=M:", "1 5000000000 1 =M:"] {
            #expect(RestartHandoff.decode(bad, now: 5 * second) == nil, "\(bad)")
        }
    }

    @Test func aResumedMasterIsMasterAtOnceAdvertisingFirst() throws {
        var r = try router(configuration(priority: 200))
        let actions = r.handle(.resumeAsMaster, now: at(7 * second))
        #expect(r.state == .master)
        #expect(actions.first(where: \.isStateChange) == .stateChanged(from: .initialize, to: .master, reason: "resumed as Master after a restart in place"))
        #expect(actions.compactMap(\.sentPriority) == [200])
        #expect(actions.contains(.addVirtualAddresses([testVIP])))
        #expect(actions.contains(.armTimer(.adver, deadline: at(8 * second))))  // 100 cs adverts
        // Once running, it is no startup any more.
        let again = r.handle(.resumeAsMaster, now: at(8 * second))
        #expect(again.isEmpty)
    }

    @Test func aResumeThatMayNotRunIsAPlainStartup() throws {
        var faulty = try router(configuration(priority: 200))
        _ = faulty.handle(.priorityChanged(effective: 0), now: .zero)
        _ = faulty.handle(.resumeAsMaster, now: .zero)
        #expect(faulty.state == .fault)
        var down = try router(configuration(priority: 200))
        _ = down.handle(.interfaceDown, now: .zero)
        _ = down.handle(.resumeAsMaster, now: .zero)
        #expect(down.state == .fault)
    }

    @Test func checksAdoptTheirStatusOnlyWhenTheSetIsTheSame() throws {
        let track = try trackConfig("""
            http:
              - {url: http://127.0.0.1:8404/healthz, rise: 3, fall: 3}
            scripts:
              - {name: apiserver, command: /bin/true}
            """)
        var set = CheckSet(track)
        let wrongCount = set.adopt(good: [true])
        #expect(!wrongCount)
        #expect(set.checks.allSatisfy { !$0.isGood })
        // In the set's order: the script, then the http check.
        let adopted = set.adopt(good: [false, true])
        #expect(adopted)
        #expect(set.states.map(\.good) == [false, true])
        // Adopted as known: one failure does not flip a good check with fall 3.
        let changed = set.record(index: 1, ok: false, detail: "x")
        #expect(changed == nil)
        #expect(set.states.map(\.good) == [false, true])
    }
}
