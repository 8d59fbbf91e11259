import Foundation

/// Bridges blocking work (SSH, host tools) into async code without blocking the cooperative thread pool
/// (which has only as many threads as cores): each call gets its own thread for its whole life.
public enum DedicatedThread {
    /// Runs `work` on a new thread and resumes the caller with its result.
    public static func run<T: Sendable>(name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.name = name
            thread.start()
        }
    }
}
