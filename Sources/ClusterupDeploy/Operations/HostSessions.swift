import ClusterupCore
import ClusterupSSH

/// Day-2 operations (status, reset, etcd backup/restore, remote certificate checks) share this:
/// connect to each host, run blocking work on a dedicated thread, close. One result per host,
/// in inventory order; an unreachable host is a failed result, never a hang of the others.
public struct HostSessions: Sendable {
    public let connector: HostConnector
    public let concurrency: Int
    public let progress: (@Sendable (ProgressEvent) -> Void)?

    public init(connector: HostConnector, concurrency: Int = FanOut.defaultConcurrency,
                progress: (@Sendable (ProgressEvent) -> Void)? = nil) {
        self.connector = connector
        self.concurrency = concurrency
        self.progress = progress
    }

    public func run<Value: Sendable>(
        _ hosts: [InventoryHost], step: String,
        _ operation: @escaping @Sendable (InventoryHost, SSHConnection, HostReporter) throws -> Value
    ) async -> [HostResult<Value>] {
        await FanOut(concurrency: concurrency).run(hosts, initialStep: "connecting", progress: progress) { [connector] host, reporter in
            let connection = try connector.connect(host)
            defer { connection.close() }
            reporter.step(step)
            return try operation(host, connection, reporter)
        }
    }
}

/// The etcdctl a node has: the inventory's artifact path, else the one on PATH.
func etcdctlPath(_ settings: DeploySettings) -> String { settings.artifact("etcdctl")?.path ?? "etcdctl" }

/// Splits the output of a probe script into sections that start with a line `@@name arg`.
/// Pure, so every probe's parsing is tested without a host.
public struct ProbeSections: Sendable {
    public struct Section: Sendable, Equatable {
        public var name: String
        public var argument: String
        public var body: String
    }

    public var sections: [Section]

    public init(_ output: String) {
        var sections: [Section] = []
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        if output.hasSuffix("\n") { lines.removeLast() }
        for line in lines {
            if line.hasPrefix("@@") {
                let words = line.dropFirst(2).split(separator: " ", maxSplits: 1).map(String.init)
                sections.append(Section(name: words.first ?? "", argument: words.count > 1 ? words[1] : "", body: ""))
            } else if !sections.isEmpty {
                sections[sections.count - 1].body += line + "\n"
            }
        }
        self.sections = sections
    }

    public func first(_ name: String) -> Section? { sections.first { $0.name == name } }
    public func all(_ name: String) -> [Section] { sections.filter { $0.name == name } }
}
