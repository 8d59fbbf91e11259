import Foundation

/// Runs a blocking per-host operation (an SSH session, a file copy) on many hosts at once.
///
/// Each operation runs on a dedicated thread, never on Swift's cooperative pool: that pool has as
/// many threads as cores (two here), so a blocking libssh2 call on it would serialise the fan-out
/// and starve every other task. At most `concurrency` operations run at a time; 50 hosts take about
/// as long as 5 as long as they fit in one wave.
///
///     let clock = TimeSource.continuous
///     let writer = output.progressWriter(hosts: hosts, clock: clock)   // OutputOptions, CLI
///     writer.startTicker()
///     let results = await FanOut(concurrency: 32, clock: clock).run(hosts, initialStep: "connect",
///                                                                   progress: writer.sink) { host, reporter in
///         let session = try connect(host)          // blocking is fine here
///         reporter.step("exec")
///         return try session.exec(command)
///     }
///     writer.finish { host in [("exit_status", .int(...))] }
public struct FanOut: Sendable {
    public static let defaultConcurrency = 32

    public var concurrency: Int
    public var clock: TimeSource

    public init(concurrency: Int = defaultConcurrency, clock: TimeSource = .continuous) {
        precondition(concurrency >= 1, "concurrency must be at least 1")
        self.concurrency = concurrency
        self.clock = clock
    }

    /// Runs `operation` for every item and returns one result per item, in input order. Suspends the
    /// caller without holding a pool thread. If the calling task is cancelled, items not yet started
    /// are reported as skipped with `CancellationError`; running ones finish.
    public func run<Item: Sendable, Value: Sendable>(
        _ items: [Item], name: @escaping @Sendable (Item) -> String, initialStep: String = "start",
        progress: (@Sendable (ProgressEvent) -> Void)? = nil,
        operation: @escaping @Sendable (Item, HostReporter) throws -> Value
    ) async -> [HostResult<Value>] {
        let execution = Execution(
            items: items, name: name, initialStep: initialStep, clock: clock, progress: progress, operation: operation)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                execution.start(threads: min(concurrency, items.count)) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            execution.cancel()
        }
    }

    /// `run` over inventory hosts, named by `Host.name`.
    public func run<Value: Sendable>(
        _ hosts: [InventoryHost], initialStep: String = "start", progress: (@Sendable (ProgressEvent) -> Void)? = nil,
        operation: @escaping @Sendable (InventoryHost, HostReporter) throws -> Value
    ) async -> [HostResult<Value>] {
        await run(hosts, name: \.name, initialStep: initialStep, progress: progress, operation: operation)
    }

    /// The same, for callers on a plain thread (never call this from async code: it blocks).
    public func runBlocking<Item: Sendable, Value: Sendable>(
        _ items: [Item], name: @escaping @Sendable (Item) -> String, initialStep: String = "start",
        progress: (@Sendable (ProgressEvent) -> Void)? = nil,
        operation: @escaping @Sendable (Item, HostReporter) throws -> Value
    ) -> [HostResult<Value>] {
        let execution = Execution(
            items: items, name: name, initialStep: initialStep, clock: clock, progress: progress, operation: operation)
        let done = DispatchSemaphore(value: 0)
        let results = Locked<[HostResult<Value>]>([])
        execution.start(threads: min(concurrency, items.count)) { values in
            results.withLock { $0 = values }
            done.signal()
        }
        done.wait()
        return results.withLock { $0 }
    }
}

/// What happened on one host.
public struct HostResult<Value: Sendable>: Sendable {
    public var host: String
    public var outcome: Result<Value, any Error>
    /// Time the operation itself took on its thread (not the time it waited for a slot).
    public var elapsed: Duration
    /// The operation called `HostReporter.skip`, or never started because the run was cancelled.
    public var skipped: Bool
    /// The step the host was at when it finished (where it failed, if it failed).
    public var step: String

    public var value: Value? { try? outcome.get() }
    public var error: (any Error)? {
        if case .failure(let error) = outcome { return error }
        return nil
    }
    public var succeeded: Bool { error == nil }

    public var state: HostState {
        if skipped { return .skipped }
        return succeeded ? .ok : .failed
    }
}

/// Handed to each operation so it can say which step it is at; every call emits a progress event.
public final class HostReporter: Sendable {
    public let host: String
    private let clock: TimeSource
    private let started: Duration
    private let sink: (@Sendable (ProgressEvent) -> Void)?
    private let state: Locked<(step: String, skipNote: String?)>

    init(host: String, step: String, clock: TimeSource, sink: (@Sendable (ProgressEvent) -> Void)?) {
        self.host = host
        self.clock = clock
        self.started = clock.now()
        self.sink = sink
        self.state = Locked((step, nil))
    }

    public var currentStep: String { state.withLock { $0.step } }

    /// Moves the host to `step` (e.g. "connect", "upload", "exec").
    public func step(_ step: String) {
        state.withLock { $0.step = step }
        emit(.running, detail: nil)
    }

    /// Marks the host as skipped (nothing to do there) rather than ok, once the operation returns.
    public func skip(_ note: String) {
        state.withLock { $0.skipNote = note }
    }

    var skipNote: String? { state.withLock { $0.skipNote } }

    var elapsed: Duration { clock.now() - started }

    func emit(_ hostState: HostState, detail: String?) {
        guard let sink else { return }
        let now = clock.now()
        sink(ProgressEvent(host: host, step: currentStep, state: hostState, at: now, elapsed: now - started, detail: detail))
    }
}

/// One fan-out in flight: a queue of items drained by worker threads.
private final class Execution<Item: Sendable, Value: Sendable>: Sendable {
    private struct Queue {
        var next = 0
        var results: [HostResult<Value>?]
        var remaining: Int
        var cancelled = false
        var completion: (@Sendable ([HostResult<Value>]) -> Void)?
    }

    private let items: [Item]
    private let name: @Sendable (Item) -> String
    private let initialStep: String
    private let clock: TimeSource
    private let progress: (@Sendable (ProgressEvent) -> Void)?
    private let operation: @Sendable (Item, HostReporter) throws -> Value
    private let queue: Locked<Queue>

    init(
        items: [Item], name: @escaping @Sendable (Item) -> String, initialStep: String, clock: TimeSource,
        progress: (@Sendable (ProgressEvent) -> Void)?, operation: @escaping @Sendable (Item, HostReporter) throws -> Value
    ) {
        self.items = items
        self.name = name
        self.initialStep = initialStep
        self.clock = clock
        self.progress = progress
        self.operation = operation
        self.queue = Locked(Queue(results: Array(repeating: nil, count: items.count), remaining: items.count))
    }

    func start(threads: Int, completion: @escaping @Sendable ([HostResult<Value>]) -> Void) {
        guard !items.isEmpty else {
            completion([])
            return
        }
        queue.withLock { $0.completion = completion }
        for _ in 0..<threads {
            Thread { [self] in work() }.start()
        }
    }

    func cancel() {
        queue.withLock { $0.cancelled = true }
    }

    private func work() {
        while let (index, cancelled) = take() {
            let item = items[index]
            let reporter = HostReporter(host: name(item), step: initialStep, clock: clock, sink: progress)
            let result: HostResult<Value>
            if cancelled {
                result = HostResult(host: reporter.host, outcome: .failure(CancellationError()), elapsed: .zero, skipped: true, step: initialStep)
                reporter.emit(.skipped, detail: "cancelled")
            } else {
                reporter.emit(.running, detail: nil)
                result = runOne(item, reporter)
            }
            finish(index, result)
        }
    }

    private func runOne(_ item: Item, _ reporter: HostReporter) -> HostResult<Value> {
        do {
            let value = try operation(item, reporter)
            let elapsed = reporter.elapsed
            let note = reporter.skipNote
            reporter.emit(note == nil ? .ok : .skipped, detail: note)
            return HostResult(host: reporter.host, outcome: .success(value), elapsed: elapsed, skipped: note != nil, step: reporter.currentStep)
        } catch {
            let elapsed = reporter.elapsed
            reporter.emit(.failed, detail: describe(error))
            return HostResult(host: reporter.host, outcome: .failure(error), elapsed: elapsed, skipped: false, step: reporter.currentStep)
        }
    }

    /// The next item to run, and whether the run was cancelled before it started; nil when drained.
    private func take() -> (Int, Bool)? {
        queue.withLock { queue in
            guard queue.next < items.count else { return nil }
            defer { queue.next += 1 }
            return (queue.next, queue.cancelled)
        }
    }

    private func finish(_ index: Int, _ result: HostResult<Value>) {
        let done: (([HostResult<Value>]) -> Void, [HostResult<Value>])? = queue.withLock { queue in
            queue.results[index] = result
            queue.remaining -= 1
            guard queue.remaining == 0, let completion = queue.completion else { return nil }
            queue.completion = nil
            return (completion, queue.results.map { $0! })
        }
        // Outside the lock: the completion resumes the awaiting task.
        if let (completion, results) = done { completion(results) }
    }
}

/// The operator-facing text of an error: a `ClusterupError`'s message, else its description.
public func describe(_ error: any Error) -> String {
    if let error = error as? ClusterupError { return error.message }
    return String(describing: error)
}

/// Where `explain` puts an error's hint: after the message in parentheses (a per-host line of
/// `exec`, `check`, `reset`), or on its own indented line (deploy's failure report).
public enum HintLayout: Sendable {
    case inParentheses
    case ownLine
}

/// The one explainer of a failure for the operator: the message; what its code means where the
/// code says (a lost SSH connection, ClusterupSSH's `.connectionLost`: told by the code, not the
/// words); then what to do, where known.
public func explain(_ error: any Error, hint layout: HintLayout = .inParentheses) -> String {
    guard let error = error as? ClusterupError else { return String(describing: error) }
    var text = error.message
    if let meaning = error.code?.meaning { text += " — " + meaning }
    guard let hint = error.hint else { return text }
    switch layout {
    case .inParentheses: return "\(text) (\(hint))"
    case .ownLine: return "\(text)\n    hint: \(hint)"
    }
}

/// A value behind a lock, shareable across threads.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Where elapsed times come from: a monotonic reading as a Duration since some origin. Injected so
/// progress and results can be tested with a manual clock.
public struct TimeSource: Sendable {
    public let now: @Sendable () -> Duration

    public init(now: @escaping @Sendable () -> Duration) { self.now = now }

    /// The system's monotonic clock, measured from when this source is made.
    public static var continuous: TimeSource {
        let origin = ContinuousClock.now
        return TimeSource { ContinuousClock.now - origin }
    }
}
