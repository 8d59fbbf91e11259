import ClusterupCore

/// Opens one SSH connection per host, in parallel; every later phase reuses them.
struct ConnectPhase: DeployPhase {
    let title = "connect"

    func run(_ session: DeploySession) async throws {
        let connector = session.connector
        let results = await FanOut(concurrency: session.options.concurrency).run(
            session.inventory.hosts, initialStep: "connecting", progress: { [emit = session.emit] in emit(.host($0)) }
        ) { host, _ in
            try connector.connect(host)
        }
        session.with { state in
            for result in results { if let connection = result.value { state.connections[result.host] = connection } }
        }
        try session.failIfAny(results, phase: title)
    }
}
