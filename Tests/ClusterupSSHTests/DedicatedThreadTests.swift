import Foundation
import Testing
@testable import ClusterupSSH

@Suite struct DedicatedThreadTests {
    @Test func blockingWorkDoesNotOccupyTheCooperativePool() async throws {
        // 16 calls that each block for 0.3 s: on the cooperative pool (2 threads here) that would
        // take 2.4 s; on dedicated threads they overlap.
        let started = Date()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<16 {
                group.addTask { try await DedicatedThread.run(name: "t\(index)") { usleep(300_000); return index } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<16))
        #expect(Date().timeIntervalSince(started) < 1.5)
    }

    @Test func errorsReachTheCaller() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await DedicatedThread.run(name: "boom") { throw Boom() } }
    }
}
