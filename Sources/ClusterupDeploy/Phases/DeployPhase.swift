/// One step of deploy: a title the progress output shows, an optional reason to skip, and the work.
protocol DeployPhase: Sendable {
    var title: String { get }
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
}
