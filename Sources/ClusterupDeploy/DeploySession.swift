import ClusterupCore
import ClusterupPKI
import ClusterupSSH
import Foundation

public struct DeployOptions: Sendable {
    public var dryRun = false
    public var concurrency = FanOut.defaultConcurrency
    public var acceptNewHostKeys = false
    /// A lock from another machine not refreshed for this long is taken over (its deploy died);
    /// the holder refreshes it every third of this, at most every minute.
    public var staleLockAfter: Duration = DeployOptions.defaultStaleLockAfter
    public static let defaultStaleLockAfter: Duration = .seconds(180)
    /// How long to wait for a service to become healthy after (re)starting it.
    public var healthTimeout: Duration = .seconds(60)
    /// Where downloaded artifacts are cached on this machine.
    public var cacheDirectory: String
    /// The clusterup-vrrpd binary to upload when the inventory names none.
    public var vrrpdBinary: String?
    /// Which clusterup this is, recorded on the hosts deploy changes (DeployRecord); nil records nothing.
    public var build: ClusterupBuild?
    /// Go on without hosts that cannot be reached instead of stopping (UnreachableHosts).
    public var skipUnreachable = false
    /// Drains a running apiserver from every HAProxy before deploy restarts it (the CLI gives the
    /// rollout's BackendDrain); nil restarts it undrained.
    public var apiserverRestartGuard: (any APIServerRestartGuard)?

    public init(cacheDirectory: String) {
        self.cacheDirectory = cacheDirectory
    }
}

/// What a phase tells the operator. The CLI renders it (live lines, plain lines or JSON).
public enum DeployEvent: Sendable {
    case phaseStarted(String)
    case phaseSkipped(String, reason: String)
    case phaseFinished(String, timing: PhaseTiming)
    /// One host's progress inside a phase.
    case host(ProgressEvent)
    /// A line of the plan or report, for one host or (nil) the cluster.
    case note(host: String?, String)
}

/// How long a phase took, and how much of that was clusterup's own work: the CPU time this
/// process used (all threads). The rest is waiting for the hosts and the network.
public struct PhaseTiming: Sendable, Equatable {
    public var elapsed: Duration
    public var cpu: Duration

    public init(elapsed: Duration, cpu: Duration) {
        self.elapsed = elapsed
        self.cpu = cpu
    }
}

/// A failure with where it happened: which phase, which host. What the operator reads.
public struct DeployFailure: Error, CustomStringConvertible, Sendable {
    public var phase: String
    public var failures: [(host: String, error: String)]
    /// What state the cluster is left in and what to do.
    public var state: String
    /// What failed: "deploy", or an operation under the deploy lock ("certs rotate-ca").
    public var operation: String = "deploy"
    /// 2 when every failure is bad input (an artifact's wrong sha256, a member its archive lacks),
    /// else 1.
    public var exitCode: Int32 = 1

    public init(phase: String, failures: [(host: String, error: String)], state: String, operation: String = "deploy",
                exitCode: Int32 = 1) {
        self.phase = phase
        self.failures = failures
        self.state = state
        self.operation = operation
        self.exitCode = exitCode
    }

    public var description: String {
        var text = "\(operation) failed in phase '\(phase)':"
        for failure in failures { text += "\n  \(failure.host): \(failure.error)" }
        return text + "\n  " + state
    }
}

/// One deploy run: the inventory, an SSH connection per host, and what the phases learned.
/// Phases run in order on the calling task; per-host work fans out on dedicated threads.
public final class DeploySession: Sendable {
    public let inventory: Inventory
    public let settings: DeploySettings
    public let options: DeployOptions
    public let connector: HostConnector
    let emit: @Sendable (DeployEvent) -> Void
    private let state = Locked(State())

    struct State {
        var connections: [String: SSHConnection] = [:]
        var facts: [String: HostFacts] = [:]
        /// The deploy lock this session holds and keeps fresh (nil before the lock phase and after release).
        var lock: LockKeeper?
        var pkiReport: PKIRunReport?
        var pkiPlan: PKIPlan?
        var pkiFiles: [String: [UInt8]] = [:]
        var etcdPlan: EtcdMembershipPlan?
        var etcdMembers: [EtcdMember]?
        var desired: [String: HostDesiredState] = [:]
        var changes: [String: HostChanges] = [:]
        var uploads: [String: [UInt8]] = [:]
        /// Hosts left out of this run because they could not be reached (--skip-unreachable): why.
        var skipped: [String: String] = [:]
    }

    public init(
        inventory: Inventory, settings: DeploySettings, options: DeployOptions, connector: HostConnector,
        emit: @escaping @Sendable (DeployEvent) -> Void
    ) {
        self.inventory = inventory
        self.settings = settings
        self.options = options
        self.connector = connector
        self.emit = emit
    }

    func with<T>(_ body: (inout State) throws -> T) rethrows -> T { try state.withLock(body) }

    func connection(_ host: String) throws -> SSHConnection {
        guard let connection = with({ $0.connections[host] }) else {
            throw ClusterupError.remote("not connected", host: host)
        }
        return connection
    }

    func note(_ host: String?, _ text: String) { emit(.note(host: host, text)) }

    /// Whether this run changes the hosts or only tells what it would change (`--dry-run`).
    var mode: RunMode { RunMode(dryRun: options.dryRun) }

    /// Names of the hosts this run leaves out (unreachable, --skip-unreachable).
    var skippedHosts: Set<String> { Set(with { $0.skipped.keys }) }

    /// The inventory's hosts this run works on: all but the skipped.
    var reachableHosts: [InventoryHost] {
        let skipped = skippedHosts
        return inventory.hosts.filter { !skipped.contains($0.name) }
    }

    /// Runs `operation` on each host on dedicated threads, `concurrency` at a time, and fails the
    /// phase naming every host that failed.
    @discardableResult
    func onHosts<Value: Sendable>(
        _ hosts: [InventoryHost], phase: some DeployPhase, step: String,
        _ operation: @escaping @Sendable (InventoryHost, SSHConnection, HostReporter) throws -> Value
    ) async throws -> [String: Value] {
        // Skipped (unreachable) hosts are never worked on.
        let skipped = with { $0.skipped }
        let hosts = hosts.filter { skipped[$0.name] == nil }
        guard !hosts.isEmpty else { return [:] }
        let results = await FanOut(concurrency: options.concurrency).run(
            hosts, initialStep: step, progress: { [emit] in emit(.host($0)) }
        ) { [self] host, reporter in
            try operation(host, try connection(host.name), reporter)
        }
        try Self.failIfAny(results, phase: phase)
        try Task.checkCancellation()
        return Dictionary(uniqueKeysWithValues: results.compactMap { r in r.value.map { (r.host, $0) } })
    }

    /// Fails the phase naming every host whose operation failed, with what to do where known, and
    /// the state the phase's `afterFailure` says.
    static func failIfAny<Value>(_ results: [HostResult<Value>], phase: some DeployPhase) throws {
        let failures = results.compactMap { result in result.error.map { (host: result.host, error: explain($0)) } }
        if !failures.isEmpty { throw phase.failure(failures) }
    }

    /// A failed host's line in deploy's report: Core's one explainer, the hint on its own line.
    static func explain(_ error: any Error) -> String {
        ClusterupCore.explain(error, hint: .ownLine)
    }

    /// Runs `operation` on one host at a time, stopping at the first failure.
    func oneHostAtATime(
        _ hosts: [InventoryHost], phase: some DeployPhase, step: String,
        _ operation: @escaping @Sendable (InventoryHost, SSHConnection, HostReporter) throws -> Void
    ) async throws {
        for host in hosts {
            try Task.checkCancellation()
            try await onHosts([host], phase: phase, step: step, operation)
        }
    }

    /// Connections are closed when the session ends.
    func closeAll() {
        let connections = with { state in
            defer { state.connections = [:] }
            return Array(state.connections.values)
        }
        for connection in connections { connection.close() }
    }
}
