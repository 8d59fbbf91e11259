import ClusterupCore

/// The plan's probe, its only I/O: one round trip per host reading what it has of everything
/// deploy manages (`HostProbe`), then, when the member asked for the etcd member list is down, the
/// list from one that runs. It returns a value (`ObservedCluster`); what it reads is decided by
/// the desired states, purely (`scripts`).
enum ClusterProbe {
    static func read(_ session: DeploySession, phase: some DeployPhase,
                     desired: [String: HostDesiredState]) async throws -> ObservedCluster {
        let inventory = session.inventory
        let etcdctl = etcdctlPath(session.settings)
        let dataDirectory = session.settings.etcd.dataDirectory
        let scripts = Self.scripts(desired, inventory: inventory, settings: session.settings)
        let readings = try await session.onHosts(inventory.hosts, phase: phase, step: "reading state") { host, connection, _ in
            try HostProbe.parse(try connection.checkedOutput(scripts[host.name]!, timeout: 30), host: host.name)
        }
        var observed = ObservedCluster(hosts: readings.mapValues(\.observed), etcd: readings.compactMapValues(\.etcd))
        let etcdHosts = inventory.hosts(withRole: .etcd).map(\.name)
        if let fallback = observed.memberListFallback(etcdHosts: etcdHosts).flatMap(inventory.host(named:)) {
            let listed = try await session.onHosts([fallback], phase: phase, step: "reading etcd members") { host, connection, _ in
                try EtcdHostFacts.parse(try connection.checkedOutput(
                    EtcdHostFacts.probeScript(dataDirectory: dataDirectory, etcdctl: etcdctl, listMembers: true), timeout: 30), host: host.name)
            }
            if var facts = listed[fallback.name] {
                facts.version = observed.etcd[fallback.name]?.version
                observed.etcd[fallback.name] = facts
            }
        }
        return observed
    }

    /// Per host, the probe script: the state of every file and unit its desired state names (and
    /// of etcd's bootstrap file, whose content the plan decides from the membership it reads), and
    /// on etcd hosts the member's state, with the member list from the first etcd host only (a Go
    /// program and a TLS handshake: one is enough). Pure.
    static func scripts(_ desired: [String: HostDesiredState], inventory: Inventory, settings: DeploySettings) -> [String: String] {
        let etcdctl = etcdctlPath(settings)
        let firstEtcdHost = inventory.hosts(withRole: .etcd).first?.name
        // The version of the etcd a joining member will run is known before any change only when
        // it comes from the host's package or is present there; an uploaded binary is not read.
        let etcdBinary: String? = settings.artifact("etcd").flatMap { artifact in
            switch artifact.source {
            case .package, .present: artifact.path
            case .url, .file: nil
            }
        }
        var scripts: [String: String] = [:]
        for host in inventory.hosts {
            guard let state = desired[host.name] else { continue }
            var paths = state.files.map(\.path)
            if host.roles.contains(.etcd) { paths.append(EtcdComponent.bootstrapPath) }
            let etcd = host.roles.contains(.etcd)
                ? EtcdHostFacts.probeScript(dataDirectory: settings.etcd.dataDirectory, etcdctl: etcdctl,
                                            listMembers: host.name == firstEtcdHost, etcd: etcdBinary) : nil
            scripts[host.name] = HostProbe.script(
                etcd: etcd, observed: HostObservedState.probeScript(paths: paths, units: state.units.map(\.name) + state.disabledUnits))
        }
        return scripts
    }
}
