import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab

@Suite struct BlockingTests {
    struct Boom: Error {}

    @Test func forEachKeepsResultsInItemOrderAndCapturesFailures() async throws {
        let results = try await Blocking.run {
            Blocking.forEach(Array(0..<20), width: 4) { item -> Int in
                if item == 7 { throw Boom() }
                usleep(useconds_t((20 - item) * 500))
                return item * 2
            }
        }
        #expect(results.count == 20)
        #expect((try? results[3].get()) == 6)
        #expect((try? results[19].get()) == 38)
        #expect((try? results[7].get()) == nil)
    }

    @Test func forEachRunsItemsConcurrently() async throws {
        // Each body waits until all 8 have started: that only finishes if they run at once. No
        // wall-clock bound, so a loaded machine cannot fail it, and a serial forEach cannot pass.
        let started = NSCondition()
        let count = Locked(0)
        let results = try await Blocking.run {
            Blocking.forEach(Array(0..<8), width: 8) { _ -> Bool in
                count.withLock { $0 += 1 }
                started.lock()
                started.broadcast()
                let deadline = Date().addingTimeInterval(30)
                while count.withLock { $0 } < 8 && started.wait(until: deadline) {}
                started.unlock()
                return count.withLock { $0 } == 8
            }
        }
        #expect(results.allSatisfy { (try? $0.get()) == true })
    }
}
