import ArgumentParser

extension Clusterup {
    /// `clusterup upgrade plan`, `clusterup upgrade apply`.
    struct UpgradeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upgrade",
            abstract: "Plan and run a rolling upgrade of etcd, the control plane and the load balancers.",
            discussion: "`upgrade plan` reads what every host runs and prints the ordered steps, or refuses what the version-skew rules forbid. `upgrade apply` runs them one host at a time while probing the VIP. See docs/upgrade.md.",
            subcommands: [UpgradePlanCommand.self, UpgradeApplyCommand.self])
    }
}
