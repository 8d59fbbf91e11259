import Testing
@testable import VRRPConfig
@testable import VRRPDaemon

/// The Master's announcement schedule, with no socket and no clock: keepalived's garp_master_repeat,
/// garp_interval, garp_master_delay and garp_master_refresh.
@Suite struct GARPScheduleTests {
    static let ms: UInt64 = 1_000_000

    func settings(repeat count: Int = 5, interval: Duration = .zero, delay: Duration = .zero, refresh: Duration = .zero) -> GARPConfig {
        var g = GARPConfig()
        g.repeatCount = count
        g.interval = interval
        g.delay = delay
        g.refresh = refresh
        return g
    }

    @Test func withoutAGapEveryTakeoverRoundGoesOutAtOnce() {
        var s = GARPSchedule(settings(repeat: 5))
        #expect(s.takeover(now: 1000 * Self.ms) == 5)
        #expect(s.due.isEmpty)
        #expect(s.nextDeadline == nil)
    }

    @Test func roundsWithAGapAreSpacedAndFireWhenDue() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 3, interval: .milliseconds(10)))
        #expect(s.takeover(now: t0) == 1)
        #expect(s.due == [t0 + 10 * Self.ms, t0 + 20 * Self.ms])
        #expect(s.fire(now: t0 + 5 * Self.ms) == 0)
        #expect(s.fire(now: t0 + 10 * Self.ms) == 1)
        #expect(s.nextDeadline == t0 + 20 * Self.ms)
        // A late wake-up sends one round for everything overdue, not a backlog.
        var late = GARPSchedule(settings(repeat: 3, interval: .milliseconds(10)))
        _ = late.takeover(now: t0)
        #expect(late.fire(now: t0 + 50 * Self.ms) == 1)
        #expect(late.due.isEmpty)
    }

    @Test func theDelayedSecondBurstRepeatsTheFirst() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 2, interval: .milliseconds(10), delay: .seconds(5)))
        #expect(s.takeover(now: t0) == 1)
        #expect(s.due == [t0 + 10 * Self.ms, t0 + 5000 * Self.ms, t0 + 5010 * Self.ms])
    }

    @Test func refreshRearmsItselfAndFollowsAReload() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 1, refresh: .seconds(60)))
        #expect(s.takeover(now: t0) == 1)
        #expect(s.refreshDue == t0 + 60_000 * Self.ms)
        #expect(s.fire(now: t0 + 60_000 * Self.ms) == 1)
        #expect(s.refreshDue == t0 + 120_000 * Self.ms)
        s.adopt(settings(repeat: 1, refresh: .seconds(10)))
        #expect(s.fire(now: t0 + 120_000 * Self.ms) == 1)
        #expect(s.refreshDue == t0 + 130_000 * Self.ms)
    }

    @Test func aBurstMergesIntoPendingRoundsAndKeepsTheRefresh() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 3, interval: .milliseconds(10), delay: .seconds(5), refresh: .seconds(60)))
        _ = s.takeover(now: t0)
        let refresh = s.refreshDue
        #expect(s.burst(now: t0 + 15 * Self.ms) == 1)
        #expect(s.due == [10, 20, 25, 35, 5000, 5010, 5020].map { t0 + $0 * Self.ms })
        #expect(s.refreshDue == refresh)
        var noGap = GARPSchedule(settings(repeat: 4))
        #expect(noGap.burst(now: t0) == 4)
    }

    @Test func leavingMasterStopsEverything() {
        var s = GARPSchedule(settings(repeat: 3, interval: .milliseconds(10), refresh: .seconds(1)))
        _ = s.takeover(now: 0)
        s.stop()
        #expect(s.due.isEmpty && s.refreshDue == nil && s.nextDeadline == nil)
        #expect(s.fire(now: 10_000 * Self.ms) == 0)
    }

    @Test func aRefusedRoundAndThoseAfterItGoOutAgainAfterTheRetryGap() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 5, refresh: .seconds(60)))
        #expect(s.takeover(now: t0) == 5)
        // The second of five rounds failed: it and the three after it are planned again.
        #expect(s.failed(now: t0, unsent: 4) == .retry(attempt: 1, at: t0 + GARPSchedule.retryGap))
        #expect(s.nextDeadline == t0 + GARPSchedule.retryGap)
        #expect(s.fire(now: t0 + GARPSchedule.retryGap - 1) == 0)
        #expect(s.fire(now: t0 + GARPSchedule.retryGap) == 4)
        // Sent: nothing is left but the refresh.
        s.sent()
        #expect(s.nextDeadline == t0 + 60_000 * Self.ms)
        #expect(s.fire(now: t0 + 2 * GARPSchedule.retryGap) == 0)
    }

    @Test func retriesMergeAndGiveUpAfterTheLimitInARowUntilTheNextBurst() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 3))
        #expect(s.burst(now: t0) == 3)
        #expect(s.failed(now: t0, unsent: 3) == .retry(attempt: 1, at: t0 + GARPSchedule.retryGap))
        var now = t0
        for attempt in 2...GARPSchedule.retryLimit {
            now += GARPSchedule.retryGap
            #expect(s.fire(now: now) == 3, "attempt \(attempt)")
            #expect(s.failed(now: now, unsent: 3) == .retry(attempt: attempt, at: now + GARPSchedule.retryGap))
        }
        now += GARPSchedule.retryGap
        #expect(s.fire(now: now) == 3)
        #expect(s.failed(now: now, unsent: 3) == .gaveUp(attempts: GARPSchedule.retryLimit + 1))
        #expect(s.nextDeadline == nil)
        #expect(s.fire(now: now + GARPSchedule.retryGap) == 0)
        // Two failures before the retry fires (a burst, then a refresh in the same wake-up): the
        // larger count is sent.
        var merged = GARPSchedule(settings(repeat: 4))
        _ = merged.takeover(now: t0)
        _ = merged.failed(now: t0, unsent: 4)
        _ = merged.failed(now: t0, unsent: 1)
        #expect(merged.fire(now: t0 + GARPSchedule.retryGap) == 4)
        // The next re-announce starts counting again.
        #expect(s.burst(now: now + 1000 * Self.ms) == 3)
        #expect(s.failed(now: now + 1000 * Self.ms, unsent: 3) == .retry(attempt: 1, at: now + 1000 * Self.ms + GARPSchedule.retryGap))
    }

    @Test func aSentRoundEndsTheFailuresInARowAndLeavingMasterDropsTheRetry() {
        let t0 = 1000 * Self.ms
        var s = GARPSchedule(settings(repeat: 1))
        _ = s.takeover(now: t0)
        _ = s.failed(now: t0, unsent: 1)
        _ = s.fire(now: t0 + GARPSchedule.retryGap)
        s.sent()
        #expect(s.failed(now: t0 + 2 * GARPSchedule.retryGap, unsent: 1) == .retry(attempt: 1, at: t0 + 3 * GARPSchedule.retryGap))
        s.stop()
        #expect(s.nextDeadline == nil)
        #expect(s.fire(now: t0 + 10 * GARPSchedule.retryGap) == 0)
        // A new takeover forgets an earlier retry too.
        _ = s.failed(now: t0, unsent: 2)
        #expect(s.takeover(now: t0 + 1) == 1)
        #expect(s.nextDeadline == nil)
    }
}
