import Foundation

/// Ctrl-C (and any other of `signals`) runs `handler` instead of killing the process, so the
/// command can end its step cleanly: deploy and the etcd and upgrade commands cancel and release
/// their lock, `verify failover` restores the node it broke. The one signal trap of the CLI.
final class InterruptHandler: @unchecked Sendable {
    private let signals: [Int32]
    private let sources: [DispatchSourceSignal]

    init(signals: [Int32] = [SIGINT],
         message: String = "\ninterrupt: finishing the current step, then releasing the lock (Ctrl-C again is ignored)",
         _ handler: @escaping @Sendable () -> Void) {
        self.signals = signals
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                printError(message)
                handler()
            }
            source.resume()
            return source
        }
    }

    func remove() {
        sources.forEach { $0.cancel() }
        signals.forEach { signal($0, SIG_DFL) }
    }
}
