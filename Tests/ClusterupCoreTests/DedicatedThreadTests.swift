import Foundation
import Testing
@testable import ClusterupCore

/// Counts arrivals; `waitForAll` blocks its thread until `total` have arrived (or gives up).
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private let total: Int

    init(total: Int) { self.total = total }

    func waitForAll(timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while arrived < total {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}

@Suite struct DedicatedThreadTests {
    @Test func sixteenBlockedCallsAreAllInFlightAtOnce() async throws {
        // Each call blocks its thread until all 16 are blocked together: impossible if they shared
        // the cooperative pool (2 threads here), immediate on dedicated threads.
        let barrier = Barrier(total: 16)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask { try await DedicatedThread.run(name: "t\(index)") { barrier.waitForAll(timeout: 10) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 16))
    }

    @Test func errorsReachTheCaller() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await DedicatedThread.run(name: "boom") { throw Boom() } }
    }
}
