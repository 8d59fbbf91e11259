import ClusterupCore
import ClusterupRollout
import Testing

/// A rollout step's failure from whatever the step threw.
@Suite struct RolloutFailureTests {
    @Test func anOperatorErrorGivesItsMessageAndHintAsTheReason() {
        let failure = RolloutFailure(host: "node2", step: "drain", error: ClusterupError.remote("socket refused", host: "node2", hint: "is HAProxy running?"),
                                     state: "node2 drained")
        #expect(failure.reason == "socket refused (is HAProxy running?)")
    }

    @Test func anyOtherErrorGivesItsDescription() {
        let failure = RolloutFailure(host: "node2", step: "drain", error: CancellationError(), state: "unchanged")
        #expect(failure.reason == String(describing: CancellationError()))
    }
}
