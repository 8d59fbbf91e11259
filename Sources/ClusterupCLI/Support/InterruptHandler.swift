import Foundation

/// Ctrl-C cancels the deploy task instead of killing the process, so the lock is released.
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal

    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            printError("\ninterrupt: finishing the current step, then releasing the lock (Ctrl-C again is ignored)")
            handler()
        }
        source.resume()
    }

    func remove() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
