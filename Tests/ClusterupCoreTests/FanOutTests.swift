import Foundation
import Testing
@testable import ClusterupCore

private func names(_ count: Int) -> [String] { (1...count).map { "node\($0)" } }

/// Blocks the calling thread like a libssh2 call would.
private func blockingSleep(milliseconds: Int) { usleep(UInt32(milliseconds * 1000)) }

/// Seconds `body` takes on the wall clock.
private func measure(_ body: () async -> Void) async -> Double {
    let start = ContinuousClock.now
    await body()
    return (ContinuousClock.now - start).totalSeconds
}

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let reading = Locked(Duration.zero)
    func advance(by duration: Duration) { reading.withLock { $0 += duration } }
    var source: TimeSource { TimeSource { [reading] in reading.withLock { $0 } } }
}

@Suite struct FanOutBehaviourTests {
    @Test func resultsComeBackInInputOrderWithValuesAndErrors() async {
        struct Boom: Error {}
        let results = await FanOut(concurrency: 4).run(names(10), name: { $0 }) { host, _ in
            if host == "node3" { throw Boom() }
            blockingSleep(milliseconds: Int.random(in: 0...20))
            return host.uppercased()
        }
        #expect(results.map(\.host) == names(10))
        #expect(results[0].value == "NODE1")
        #expect(results[2].error is Boom)
        #expect(results[2].state == .failed)
        #expect(results.filter(\.succeeded).count == 9)
    }

    @Test func neverRunsMoreThanTheConcurrencyBound() async {
        let inFlight = Locked((now: 0, peak: 0))
        _ = await FanOut(concurrency: 3).run(names(12), name: { $0 }) { _, _ in
            inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            blockingSleep(milliseconds: 30)
            inFlight.withLock { $0.now -= 1 }
        }
        #expect(inFlight.withLock { $0.peak } == 3)
    }

    @Test func moreBlockingOperationsRunAtOnceThanThePoolHasThreads() async {
        // Each operation waits until all have arrived: possible only if each has its own thread.
        let width = ProcessInfo.processInfo.activeProcessorCount + 2
        let arrived = Locked(0)
        let results = await FanOut(concurrency: width).run(names(width), name: { $0 }) { _, _ -> Bool in
            arrived.withLock { $0 += 1 }
            let deadline = ContinuousClock.now + .seconds(5)
            while arrived.withLock({ $0 }) < width {
                guard ContinuousClock.now < deadline else { return false }
                blockingSleep(milliseconds: 1)
            }
            return true
        }
        #expect(results.allSatisfy { $0.value == true })
    }

    @Test func elapsedComesFromTheInjectedClock() async {
        let clock = ManualClock()
        let results = await FanOut(concurrency: 1, clock: clock.source).run(["node1"], name: { $0 }) { _, _ in
            clock.advance(by: .seconds(3))
        }
        #expect(results[0].elapsed == .seconds(3))
    }

    @Test func emptyInputReturnsAtOnce() async {
        let results = await FanOut().run([String](), name: { $0 }) { _, _ in 1 }
        #expect(results.isEmpty)
    }

    @Test func blockingVariantWorksFromAPlainThread() {
        let results = FanOut(concurrency: 2).runBlocking(names(3), name: { $0 }) { host, _ in host.count }
        #expect(results.compactMap(\.value) == [5, 5, 5])
    }

    @Test func stepsAndOutcomeBecomeProgressEventsInOrder() async {
        let clock = ManualClock()
        let events = Locked<[ProgressEvent]>([])
        _ = await FanOut(concurrency: 1, clock: clock.source).run(
            ["node1"], name: { $0 }, initialStep: "connect", progress: { event in events.withLock { $0.append(event) } }
        ) { _, reporter in
            clock.advance(by: .milliseconds(100))
            reporter.step("exec")
            clock.advance(by: .milliseconds(200))
        }
        let seen = events.withLock { $0 }
        #expect(seen.map(\.state) == [.running, .running, .ok])
        #expect(seen.map(\.step) == ["connect", "exec", "exec"])
        #expect(seen.map(\.elapsed) == [.zero, .milliseconds(100), .milliseconds(300)])
    }

    @Test func failureEventCarriesTheErrorMessageAndStep() async {
        let events = Locked<[ProgressEvent]>([])
        let results = await FanOut().run(["node1"], name: { $0 }, progress: { event in events.withLock { $0.append(event) } }) { _, reporter in
            reporter.step("upload")
            throw ClusterupError.remote("permission denied", host: "node1")
        }
        let last = events.withLock { $0.last }
        #expect(last?.state == .failed)
        #expect(last?.detail == "permission denied")
        #expect(results[0].step == "upload")
    }

    @Test func operationCanMarkItsHostSkipped() async {
        let results = await FanOut().run(["node1"], name: { $0 }) { _, reporter in reporter.skip("already up to date") }
        #expect(results[0].state == .skipped)
        #expect(results[0].succeeded)
    }

    @Test func cancellingTheCallerSkipsHostsNotYetStarted() async {
        let started = Locked(0)
        let task = Task {
            await FanOut(concurrency: 1).run(names(5), name: { $0 }) { _, _ in
                started.withLock { $0 += 1 }
                blockingSleep(milliseconds: 100)
            }
        }
        try? await Task.sleep(for: .milliseconds(30))
        task.cancel()
        let results = await task.value
        #expect(results.count == 5)
        #expect(results.filter { $0.state == .skipped && $0.error is CancellationError }.count == 5 - started.withLock { $0 })
        #expect(started.withLock { $0 } < 5)
    }
}

/// Wall-clock measurements; serialized so they do not compete with each other for threads.
/// Overlap is proven by counting operations in flight, not by wall-clock bounds: a loaded machine
/// cannot fail these, and a serial or pool-bound fan-out cannot pass them.
@Suite(.serialized) struct FanOutTimingTests {
    /// Runs `count` operations at concurrency 32; each waits (up to 20 s) until 32 operations have
    /// started or all have, so the peak shows how many ran at once. Returns (peak, all finished).
    private func peakInFlight(_ count: Int) async -> (peak: Int, finished: Int) {
        let state = Locked((inFlight: 0, started: 0, peak: 0, finished: 0))
        _ = await FanOut(concurrency: 32).run(names(count), name: { $0 }) { _, _ in
            state.withLock { s in
                s.inFlight += 1
                s.started += 1
                s.peak = max(s.peak, s.inFlight)
            }
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, state.withLock({ $0.started < min(32, count) }) { blockingSleep(milliseconds: 1) }
            blockingSleep(milliseconds: 20)
            state.withLock { s in
                s.inFlight -= 1
                s.finished += 1
            }
        }
        return state.withLock { ($0.peak, $0.finished) }
    }

    @Test func thirtyTwoHostsAllRunAtOnce() async {
        let result = await peakInFlight(32)
        #expect(result.peak == 32)
        #expect(result.finished == 32)
    }

    @Test func fiftyHostsRunInWavesOfAtMostThirtyTwo() async {
        let result = await peakInFlight(50)
        #expect(result.peak == 32, "the bound is reached and never exceeded")
        #expect(result.finished == 50)
    }

    @Test func cooperativePoolStaysFreeWhileBlockingOperationsRun() async {
        // Every operation blocks its thread (as a libssh2 call would) until the test releases it,
        // so all 32 are in flight at once however slowly the machine starts threads. (A fixed
        // 600 ms block let the first ones end before the last began on a loaded CI machine, and
        // the wait for 32 in flight never ended.)
        let inFlight = Locked(0)
        let release = DispatchSemaphore(value: 0)
        let fanOut = Task {
            await FanOut(concurrency: 32).run(names(32), name: { $0 }) { _, _ in
                inFlight.withLock { $0 += 1 }
                release.wait()
                inFlight.withLock { $0 -= 1 }
            }
        }
        // The limit only catches a fan-out that never runs 32 operations at once.
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while inFlight.withLock({ $0 }) < 32 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let reached = inFlight.withLock { $0 }
        // Every operation is blocking its thread now; the pool (2 threads here) must still run tasks.
        let probes = await withTaskGroup(of: Int.self) { group in
            for index in 0..<8 { group.addTask { index } }
            return await group.reduce(0, +)
        }
        let stillBlocking = inFlight.withLock { $0 }
        for _ in 0..<32 { release.signal() }
        _ = await fanOut.value
        #expect(reached == 32, "only \(reached) of 32 operations were in flight at once")
        #expect(probes == 28)
        #expect(stillBlocking == reached, "the probes ran only after the blocking operations ended")
    }
}
