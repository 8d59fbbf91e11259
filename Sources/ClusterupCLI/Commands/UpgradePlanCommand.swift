import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupSSH
import Foundation

extension Clusterup {
    /// `clusterup upgrade plan [INVENTORY]`: the steps of a rolling upgrade, in order; changes nothing.
    struct UpgradePlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show the ordered steps that bring every host to the inventory's versions.",
            discussion: """
            Reads the version of etcd, kube-apiserver, kube-controller-manager, kube-scheduler, HAProxy and the VRRP daemon (clusterup-vrrpd by its build digest, or keepalived) on every host, one round trip each; the etcd leader from one member; and which lb host holds the VIP. Compares them with the inventory (control_plane.version, artifacts' `present` versions, the clusterup-vrrpd binary deploy would upload) and prints the steps per host in order, each with the check that ends it and the rule that puts it there. A component whose wanted version the inventory does not declare (a package with no version pinned) is named and left alone. Changes nothing.

            Refuses with exit 2, naming the rule and the versions, what the skew rules forbid: kube-apiserver more than one minor version at once (1.30 → 1.32: go through 1.31), a downgrade without --allow-downgrade, kube-controller-manager or kube-scheduler newer than kube-apiserver, etcd more than one minor at once or to an older minor.

            Examples:
              clusterup upgrade plan
              clusterup upgrade plan lab.yml --output json | jq '.steps[] | .host + " " + .component + " " + .action'
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Plan a downgrade to older versions (never etcd to an older minor version).")
        var allowDowngrade = false

        @Option(help: ArgumentHelp(
            "The clusterup-vrrpd binary deploy would install (its digest is the wanted build).",
            discussion: "Default: artifacts.clusterup-vrrpd in the inventory, $CLUSTERUP_VRRPD, or clusterup-vrrpd beside this program."))
        var vrrpdBinary: String?

        func run() async throws {
            let loaded = try inventory.loadWhole("an upgrade plan covers the whole inventory")
            let (plan, facts, _) = try await Self.plan(loaded, ssh: ssh, concurrency: fanOut.concurrency,
                                                       allowDowngrade: allowDowngrade, vrrpdBinary: vrrpdBinary)
            print(output.isJSON ? UpgradePlanReport.json(plan, facts: facts, allowDowngrade: allowDowngrade).pretty : UpgradePlanReport.text(plan, facts: facts),
                  terminator: output.isJSON ? "\n" : "")
        }

        /// The plan from what the hosts run (`upgrade plan` and `upgrade apply`), with the deploy
        /// settings it was computed from (clusterup-vrrpd's artifact added as deploy adds it).
        static func plan(_ loaded: Inventory, ssh: SSHOptions, concurrency: Int, allowDowngrade: Bool,
                         vrrpdBinary: String?) async throws -> (UpgradePlan, UpgradeFacts, DeploySettings) {
            var settings = loaded.deploy
            _ = try VRRPDaemonBinary.defaultArtifact(into: &settings, inventory: loaded, explicit: vrrpdBinary)
            let request = UpgradeRequest(
                wanted: try UpgradeRequest.wanted(settings: settings, vrrpdBuild: try Self.vrrpdBuild(settings, inventory: loaded)),
                allowDowngrade: allowDowngrade, vrrpPriorities: loaded.vrrpPriorities, preempt: loaded.vrrp?.preempt ?? true)
            let sessions = HostSessions(connector: try ssh.connector(for: loaded), concurrency: concurrency)
            let facts = try await UpgradeFactsCollector.collect(inventory: loaded, settings: settings, sessions: sessions)
            do {
                return (try UpgradePlanner.plan(request, facts: facts), facts, settings)
            } catch let refusal as UpgradeRefusal {
                throw ClusterupError.badInput(
                    "\(refusal.message), refused by rule \(refusal.rule.id): \(refusal.rule.statement) (\(refusal.rule.source))",
                    at: Self.field(of: refusal.component, request), hint: refusal.hint)
            }
        }

        /// The inventory field that asked for the refused version.
        static func field(of component: UpgradeComponent, _ request: UpgradeRequest) -> String? {
            if case .version(_, let from) = request.wanted[component] { return from }
            return nil
        }

        /// The digest of the clusterup-vrrpd binary deploy would upload, when the backend is ours.
        static func vrrpdBuild(_ settings: DeploySettings, inventory: Inventory) throws -> String? {
            guard inventory.vrrp?.backend != .keepalived, let artifact = settings.artifact("clusterup-vrrpd") else { return nil }
            switch artifact.source {
            case .url(_, let sha256, nil), .file(_, let sha256?): return sha256
            // The sha256 is the archive's; the member's digest is known once extracted (its
            // `version`, when declared, is what the plan compares).
            case .url(_, _, _?): return nil
            case .file(let path, nil):
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ClusterupError.badInput("cannot read \(path)", at: "artifacts.clusterup-vrrpd.file", hint: "check the path")
                }
                return sha256Hex([UInt8](data))
            case .package, .present: return nil
            }
        }
    }
}

/// `upgrade plan`'s output: a table of what each host has against what is wanted, then the steps.
enum UpgradePlanReport {
    static func state(_ installed: InstalledVersion, wanted: WantedVersion) -> String {
        guard installed.isInstalled else { return "not installed" }
        switch wanted {
        case .unknown: return "version not declared"
        case .build(let sha256, _): return installed.build?.lowercased() == sha256 ? "up to date" : "upgrade"
        case .version(let target, _):
            guard let version = installed.version else { return "version unreadable" }
            return version.sameRelease(target) ? "up to date" : version < target ? "upgrade" : "downgrade"
        }
    }

    static func text(_ plan: UpgradePlan, facts: UpgradeFacts) -> String {
        var rows: [[String]] = []
        for component in plan.components {
            for (host, installed) in component.installed {
                rows.append([component.component.rawValue, host, installed.display, component.wanted.text, state(installed, wanted: component.wanted)])
            }
        }
        var out = TextTable.render(header: ["COMPONENT", "HOST", "INSTALLED", "WANTED", "STATE"], rows: rows) + "\n"
        out += "etcd leader: \(facts.etcdLeader ?? "unknown"); VIP held by: \(facts.vipHolder ?? "not exactly one lb host")\n\n"
        if plan.isEmpty {
            out += "nothing to upgrade: every host runs the wanted version of every component the inventory declares a version for\n"
        } else {
            out += "\(plan.steps.count) step(s), in order, one at a time:\n"
            let width = String(plan.steps.count).count
            for (index, step) in plan.steps.enumerated() {
                let number = String(repeating: " ", count: width - String(index + 1).count) + String(index + 1)
                let target = step.action == .moveLeader || step.action == .handOverVIP ? " to \(step.to ?? "-")" : ""
                let summary = step.action == .moveLeader || step.action == .handOverVIP ? "\(step.component.rawValue) \(step.action.rawValue)\(target)" : step.summary
                out += "  \(number). \(step.host): \(summary)\n"
                out += "  \(String(repeating: " ", count: width))    until: \(step.check.description)\n"
                out += "  \(String(repeating: " ", count: width))    why:   \(step.rule)\n"
            }
        }
        if !plan.notes.isEmpty {
            out += "\nnotes:\n" + plan.notes.map { "  \($0)\n" }.joined()
        }
        if !plan.isEmpty {
            out += "\nNothing was changed. `clusterup upgrade apply` runs these steps.\n"
        }
        return out
    }

    static func json(_ plan: UpgradePlan, facts: UpgradeFacts, allowDowngrade: Bool) -> JSONValue {
        let components = plan.components.map { component -> JSONValue in
            var wanted: [(String, JSONValue)] = [("text", .string(component.wanted.text))]
            switch component.wanted {
            case .version(let version, let from): wanted += [("version", .string(version.text)), ("from", .string(from))]
            case .build(let sha256, let from): wanted += [("sha256", .string(sha256)), ("from", .string(from))]
            case .unknown(let why): wanted += [("unknown", .string(why))]
            }
            return .object([
                ("component", .string(component.component.rawValue)),
                ("wanted", .object(wanted)),
                ("hosts", .array(component.installed.map { host, installed in
                    .object([
                        ("host", .string(host)), ("installed", .string(installed.text)), ("version", .optional(installed.version?.text)),
                        ("build", .optional(installed.build)), ("state", .string(state(installed, wanted: component.wanted))),
                    ])
                })),
            ])
        }
        let steps = plan.steps.enumerated().map { index, step -> JSONValue in
            .object([
                ("index", .int(Int64(index + 1))), ("host", .string(step.host)), ("component", .string(step.component.rawValue)),
                ("action", .string(step.action.rawValue)), ("from", .optional(step.from)), ("to", .optional(step.to)),
                ("check", .string(step.check.description)), ("rule", .string(step.rule)),
            ])
        }
        return .object([
            ("nothing_to_upgrade", .bool(plan.isEmpty)),
            ("allow_downgrade", .bool(allowDowngrade)),
            ("etcd_leader", .optional(facts.etcdLeader)),
            ("vip_holder", .optional(facts.vipHolder)),
            ("components", .array(components)),
            ("steps", .array(steps)),
            ("notes", .strings(plan.notes)),
        ])
    }
}
