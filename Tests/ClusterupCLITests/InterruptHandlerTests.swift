import Foundation
import Testing
@testable import ClusterupCLI

/// The CLI's one signal trap: while it is set its signals no longer end the process, and removing
/// it gives them their default action back. (Delivery to the handler is not tested here: which of
/// the test process's threads a signal reaches is up to the kernel.)
@Suite(.serialized) struct InterruptHandlerTests {
    func disposition(_ number: Int32) -> Int {
        var action = sigaction()
        sigaction(number, nil, &action)
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
    }

    @Test func trappedSignalsAreIgnoredUntilTheTrapIsRemoved() {
        let trap = InterruptHandler(signals: [SIGUSR2, SIGURG], message: "(test)") {}
        // Ignored, or libdispatch's own handler once its source is armed (it installs that from
        // its manager thread, so which one a read sees is a race): either way not the default.
        #expect(disposition(SIGUSR2) != 0, "not SIG_DFL while trapped")
        #expect(disposition(SIGURG) != 0, "not SIG_DFL while trapped")
        trap.remove()
        #expect(disposition(SIGUSR2) == 0, "SIG_DFL again")
        #expect(disposition(SIGURG) == 0, "SIG_DFL again")
    }
}
