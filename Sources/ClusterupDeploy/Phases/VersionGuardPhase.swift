import ClusterupCore

/// A version change is an upgrade: it goes through `clusterup upgrade`, in the order the skew
/// policy allows, never through deploy's restarts. Deploy refuses one here, before it installs
/// or changes anything.
struct VersionGuardPhase: DeployPhase {
    let title = "versions"
    let afterFailure = AfterFailure.nodesUnchanged

    func skipReason(_ session: DeploySession) -> String? {
        // A declared version that is no release number keeps deploy as it was; `upgrade plan` reports it.
        guard let wanted = try? UpgradeRequest.wanted(settings: session.settings, vrrpdBuild: nil) else {
            return "a declared version is not a release number (`clusterup upgrade plan` names it)"
        }
        return declared(wanted).isEmpty ? "the inventory declares no version" : nil
    }

    /// Only declared release numbers count: clusterup-vrrpd's build is deploy's to replace.
    func declared(_ wanted: [UpgradeComponent: WantedVersion]) -> [UpgradeComponent: WantedVersion] {
        wanted.filter { if case .version = $0.value { true } else { false } }
    }

    func run(_ session: DeploySession) async throws {
        let inventory = session.inventory
        let settings = session.settings
        let wanted = try UpgradeRequest.wanted(settings: settings, vrrpdBuild: nil)
        let declared = Set(declared(wanted).keys.map(\.rawValue))
        let readings = try await session.onHosts(inventory.hosts, phase: self, step: "reading versions") { host, connection, _ in
            let script = StatusProbe.versionScript(for: host, inventory: inventory, settings: settings, only: declared) + "true\n"
            return try UpgradeProbe.parse(try connection.checkedOutput(script, timeout: 30), host: host, inventory: inventory).versions
        }
        let pending = UpgradePlanner.pendingVersionChanges(wanted, hosts: inventory.hosts.compactMap { readings[$0.name] })
        guard pending.isEmpty else {
            throw ClusterupError.badInput(
                "deploy does not change versions (an upgrade has an order: the skew policy's):\n  " + pending.joined(separator: "\n  "),
                at: inventory.path,
                hint: "`clusterup upgrade plan` shows the ordered steps and `clusterup upgrade apply` runs them; or set the inventory back to the versions the hosts run")
        }
    }
}
