import ArgumentParser

extension Clusterup {
    /// `clusterup upgrade plan`.
    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan a rolling upgrade of etcd, the control plane and the load balancers.",
            discussion: "`upgrade plan` reads what every host runs and prints the ordered steps, or refuses what the version-skew rules forbid. Executing the plan (`upgrade apply`) is not built yet: see docs/upgrade.md.",
            subcommands: [UpgradePlanCommand.self])
    }
}
