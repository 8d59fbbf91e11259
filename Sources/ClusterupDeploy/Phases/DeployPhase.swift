/// One step of deploy: a title the progress output shows, what a failure in it leaves on the
/// nodes, an optional reason to skip, and the work.
protocol DeployPhase: Sendable {
    var title: String { get }
    /// What a failure in this phase leaves on the nodes; the failure report's state sentence.
    /// Declared by every phase (no default), so a new phase cannot fall into another's.
    var afterFailure: AfterFailure { get }
    /// Whether the phase changes hosts; a dry run skips such phases (the plan phase has shown
    /// what they would do).
    var changesHosts: Bool { get }
    /// nil: run. Otherwise why this phase has nothing to do (shown to the operator).
    func skipReason(_ session: DeploySession) -> String?
    func run(_ session: DeploySession) async throws
}

extension DeployPhase {
    var changesHosts: Bool { false }
    func skipReason(_ session: DeploySession) -> String? { nil }

    /// This phase's failure on these hosts, with the state its `afterFailure` says.
    func failure(_ failures: [(host: String, error: String)], exitCode: Int32 = 1) -> DeployFailure {
        DeployFailure(phase: title, failures: failures, state: afterFailure.state, exitCode: exitCode)
    }
}
