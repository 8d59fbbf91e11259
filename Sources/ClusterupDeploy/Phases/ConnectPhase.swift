import ClusterupCore

/// Opens one SSH connection per host, in parallel; every later phase reuses them.
struct ConnectPhase: DeployPhase {
    let title = "connect"
    let afterFailure = AfterFailure.nodesUnchanged

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
        let unreachable = Dictionary(uniqueKeysWithValues: results.compactMap { result in
            result.error.map { (result.host, DeploySession.explain($0)) }
        })
        // One line per skipped host in the report: the error without its hint.
        let reasons = Dictionary(uniqueKeysWithValues: results.compactMap { result in
            result.error.map { (result.host, ($0 as? ClusterupError)?.message ?? describe($0)) }
        })
        let hosts = session.inventory.hosts.map(\.name)
        switch UnreachableHosts.decide(unreachable: unreachable, hosts: hosts, skip: session.options.skipUnreachable) {
        case .proceed:
            break
        case .skip:
            let skipped = reasons
            session.with { $0.skipped = skipped }
            for line in UnreachableHosts.report(skipped, hosts: hosts) { session.note(nil, line) }
        case .refuse(let why):
            throw DeployFailure(phase: title, failures: hosts.compactMap { name in unreachable[name].map { (name, $0) } },
                                state: why)
        }
    }
}
