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
        // 8 sleeps of 200 ms in 8 parallel slots take about 200 ms, not 1.6 s.
        let started = Date()
        _ = try await Blocking.run {
            Blocking.forEach(Array(0..<8), width: 8) { _ in usleep(200_000) }
        }
        #expect(Date().timeIntervalSince(started) < 1.0)
    }
}
