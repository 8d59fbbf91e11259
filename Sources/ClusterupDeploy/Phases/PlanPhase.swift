import ClusterupCore

/// Learns what each host has (files, units, etcd membership), describes what it should have,
/// and computes the difference: the only changes the following phases make. Probe → plan →
/// report: the desired states are described once (`DeployPlanner`), the probe reads the hosts
/// (`ClusterProbe`, the I/O), the plan is a value computed from both (`DeployPlan`, pure) and the
/// report renders it (`PlanReport`, pure). A dry run prints every change (with diffs of
/// configuration files) and stops after this phase.
struct PlanPhase: DeployPhase {
    let title = "plan"
    let afterFailure = AfterFailure.nodesUnchanged

    func run(_ session: DeploySession) async throws {
        let inputs = try Self.inputs(session)
        let desired = try DeployPlanner.desiredStates(inputs)
        let observed = try await ClusterProbe.read(session, phase: self, desired: desired)
        let plan = try DeployPlan.make(
            inventory: session.inventory, desired: desired, observed: observed, skipped: session.skippedHosts,
            bootstrapFile: { host, bootstrap in try EtcdComponent.bootstrapFile(for: host, bootstrap, inputs) })
        let current = session.mode.isDry ? try await currentContent(session, plan) : [:]
        for line in PlanReport.lines(plan, hosts: session.inventory.hosts.map(\.name), mode: session.mode, current: current) {
            session.note(line.host, line.text)
        }
        session.with { state in
            state.etcdPlan = plan.etcd
            state.etcdMembers = plan.members
            state.desired = plan.desired
            state.changes = plan.changes
        }
    }

    /// What describing the hosts' desired states needs: the phases' results before this one, the
    /// templates, and each lb host's rendered VRRP daemon configuration.
    static func inputs(_ session: DeploySession) throws -> DeployInputs {
        let inventory = session.inventory
        let (pkiPlan, pkiFiles, uploads) = session.with { ($0.pkiPlan!, $0.pkiFiles, $0.uploads) }
        let templates = try TemplateSet(overrides: session.settings.templates)
        var vrrpConfigs: [String: String] = [:]
        if let vrrp = inventory.vrrp, let vip = inventory.vip {
            for host in inventory.hosts(withRole: .lb) {
                vrrpConfigs[host.name] = try VRRPConfigRenderer.render(for: host, inventory: inventory, vrrp: vrrp, vip: vip, templates: templates)
            }
        }
        return DeployInputs(inventory: inventory, settings: session.settings, templates: templates, pki: pkiPlan, pkiFiles: pkiFiles,
                            uploads: uploads, vrrpConfigs: vrrpConfigs)
    }

    /// For a dry run's diffs: each host's current content of the files `PlanReport.diffed` names.
    func currentContent(_ session: DeploySession, _ plan: DeployPlan) async throws -> [String: [String: String]] {
        let wanted = plan.changes.mapValues(PlanReport.diffed)
        let hosts = session.inventory.hosts.filter { wanted[$0.name]?.isEmpty == false }
        return try await session.onHosts(hosts, phase: self, step: "comparing") { host, connection, _ in
            var files: [String: String] = [:]
            for path in wanted[host.name]! { files[path] = String(decoding: try connection.get(path), as: UTF8.self) }
            return files
        }
    }
}
