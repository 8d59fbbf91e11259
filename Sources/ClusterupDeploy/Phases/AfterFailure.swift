/// What a failure in a phase leaves on the nodes, and so what the operator reads and does: every
/// phase declares it (`DeployPhase.afterFailure`, no default), and the failure report's state
/// sentence comes from it. Every phase is safe to re-run: each selects only what differs.
public enum AfterFailure: Sendable, Equatable, CaseIterable {
    /// The phase changes no node: it reads or checks them, works on this machine, or holds only
    /// the deploy lock (released on failure).
    case nodesUnchanged
    /// The phase changes nodes host by host: those that finished are consistent, a failed one may
    /// be part-way; a re-run resumes from what each host has.
    case nodesPartWay
    /// The phase checks what the phases before it deployed.
    case deployed

    /// The failure report's sentence: the state the cluster is in, and what to do.
    public var state: String {
        switch self {
        case .nodesUnchanged:
            "No node was changed. Fix the cause and re-run deploy."
        case .nodesPartWay:
            "Hosts that succeeded are consistent; the failed host(s) may be part-way through this phase. Re-running deploy resumes from what each host has."
        case .deployed:
            "Every component is deployed; a check of the result failed. Check `clusterup status` and the journal of the component named, then re-run deploy."
        }
    }
}
