import ClusterupSSH
import ClusterupCore
import ClusterupPKI

/// Learns what each host has (files, units, etcd membership), describes what it should have,
/// and computes the difference: the only changes the following phases make. A dry run prints the
/// difference (with diffs of configuration files) and stops here.
struct PlanPhase: DeployPhase {
    let title = "plan"

    func run(_ session: DeploySession) async throws {
        let inventory = session.inventory
        let settings = session.settings
        let etcdHosts = inventory.hosts(withRole: .etcd)
        let etcdctl = settings.artifact("etcdctl")?.path ?? "etcdctl"

        // 1. etcd: who holds data, and the member list from any running member.
        let dataDir = settings.etcd.dataDirectory
        let etcdFacts = try await session.onHosts(etcdHosts, phase: title, step: "reading etcd state") { host, connection, _ in
            try EtcdHostFacts.parse(try connection.checkedOutput(EtcdHostFacts.probeScript(dataDirectory: dataDir, etcdctl: etcdctl), timeout: 30),
                                    host: host.name)
        }
        let hostsWithData = Set(etcdFacts.filter { $0.value.hasData }.map(\.key))
        let members = etcdHosts.lazy.compactMap { etcdFacts[$0.name]?.members }.first
        let peers = etcdHosts.map { EtcdPeer(name: $0.name, address: $0.privateAddress) }
        let etcdPlan = try EtcdMembershipPlan.plan(desired: peers, members: members, hostsWithData: hostsWithData)
        var bootstrap: [String: (initialCluster: String, state: String)] = [:]
        switch etcdPlan {
        case .bootstrap(let peers):
            let cluster = EtcdMembershipPlan.initialCluster(bootstrapping: peers)
            for peer in peers { bootstrap[peer.name] = (cluster, "new") }
            if !peers.isEmpty { session.note(nil, "etcd: bootstrap a new cluster of \(peers.count) member(s)") }
        case .reconcile(let join, let remove):
            // Joiners come one at a time; each sees the members before it.
            var current = members ?? []
            for peer in join {
                bootstrap[peer.name] = (EtcdMembershipPlan.initialCluster(joining: peer, members: current), "existing")
                current.append(EtcdMember(id: 0, name: peer.name, peerURLs: [peer.peerURL]))
                session.note(peer.name, "etcd: \(session.options.dryRun ? "would add" : "add") member \(peer.name) (\(peer.peerURL))")
            }
            for member in remove {
                session.note(nil, "etcd: \(session.options.dryRun ? "would remove" : "remove") member \(member.name.isEmpty ? member.hexID : member.name)")
            }
        }
        session.with { state in
            state.etcdPlan = etcdPlan
            state.etcdMembers = members
        }

        // 2. What every host should have.
        let (plan, pkiFiles, uploads) = session.with { ($0.pkiPlan!, $0.pkiFiles, $0.uploads) }
        let templates = try TemplateSet(overrides: settings.templates)
        var vrrpConfigs: [String: String] = [:]
        if let vrrp = inventory.vrrp, let vip = inventory.vip {
            for host in inventory.hosts(withRole: .lb) {
                vrrpConfigs[host.name] = try VRRPConfigRenderer.render(for: host, inventory: inventory, vrrp: vrrp, vip: vip, templates: templates)
            }
        }
        let inputs = DeployInputs(
            inventory: inventory, settings: settings, templates: templates, pki: plan, pkiFiles: pkiFiles,
            uploads: uploads, vrrpConfigs: vrrpConfigs, etcdBootstrap: bootstrap)
        var desired: [String: HostDesiredState] = [:]
        for host in inventory.hosts { desired[host.name] = try DeployPlanner.desiredState(for: host, inputs) }
        let desiredStates = desired

        // 3. What they have, and the difference.
        let dryRun = session.options.dryRun
        let changes = try await session.onHosts(inventory.hosts, phase: title, step: "comparing") { host, connection, _ in
            let state = desiredStates[host.name]!
            let probe = HostObservedState.probeScript(
                paths: state.files.map(\.path), units: state.units.map(\.name) + state.disabledUnits)
            let observed = try HostObservedState.parse(try connection.checkedOutput(probe), host: host.name)
            let changes = HostChanges.plan(desired: state, observed: observed, hash: sha256Hex)
            let lines = dryRun ? try PlanPhase.describe(changes, dryRun: true, connection: connection)
                               : PlanPhase.summarize(changes)
            for line in lines { session.note(host.name, line) }
            return changes
        }
        session.with { state in
            state.desired = desired
            state.changes = changes
        }
        let total = changes.values.reduce(0) { $0 + $1.files.count + $1.units.count }
        let hostsChanged = changes.values.filter { !$0.isEmpty }.count
        if total == 0 && etcdPlan.isNoChange {
            session.note(nil, "no changes: every host already matches the inventory")
        } else {
            session.note(nil, "\(dryRun ? "would change" : "changing") \(total) item(s) on \(hostsChanged) host(s)")
        }
    }

    /// One line per host for a real run: how many files per component and unit actions (a dry run
    /// lists every one, with diffs).
    static func summarize(_ changes: HostChanges) -> [String] {
        guard !changes.isEmpty else { return [] }
        var parts: [String] = []
        if !changes.files.isEmpty {
            var byComponent: [String: Int] = [:]
            for change in changes.files { byComponent[change.file.component, default: 0] += 1 }
            let detail = byComponent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            parts.append("write \(changes.files.count) file(s) (\(detail))")
        }
        var verbs: [String: [String]] = [:]
        for action in changes.units {
            switch action {
            case .enable(let unit): verbs["enable", default: []].append(unit)
            case .start(let unit): verbs["start", default: []].append(unit)
            case .restart(let unit, _): verbs["restart", default: []].append(unit)
            case .reload(let unit, _): verbs["reload", default: []].append(unit)
            case .disable(let unit): verbs["disable", default: []].append(unit)
            }
        }
        for verb in ["disable", "enable", "start", "reload", "restart"] {
            guard let units = verbs[verb] else { continue }
            let names = units.map { $0.replacingOccurrences(of: ".service", with: "") }
            parts.append("\(verb) \(names.joined(separator: ", "))")
        }
        return [parts.joined(separator: "; ")]
    }

    /// Human-readable lines for one host's changes; in a dry run with the diff of each changed
    /// configuration file (never of a secret, never of a binary).
    static func describe(_ changes: HostChanges, dryRun: Bool, connection: some RemoteShell) throws -> [String] {
        var lines: [String] = []
        let verb = dryRun ? "would " : ""
        // A first deploy installs some twenty PKI files per host: one line says it.
        let newPKI = changes.files.filter { $0.file.component == "pki" && $0.reason == .missing }
        if newPKI.count > 3 {
            lines.append("\(verb)install \(newPKI.count) PKI files under \(DeployInputs.remotePKI)")
        }
        for change in changes.files where !(newPKI.count > 3 && change.file.component == "pki" && change.reason == .missing) {
            let file = change.file
            switch change.reason {
            case .missing:
                lines.append("\(verb)create \(file.path) (\(file.component))")
            case .metadata(let mode, let owner, let group):
                lines.append("\(verb)set \(file.path) to mode \(String(file.mode, radix: 8)) \(file.owner):\(file.group) (was \(String(mode, radix: 8)) \(owner):\(group))")
            case .content:
                lines.append("\(verb)update \(file.path) (\(file.component))")
                guard dryRun else { continue }
                if file.sensitive {
                    lines.append("  (secret: content not shown)")
                } else if file.content.contains(0) || file.content.count > 1 << 20 {
                    lines.append("  (binary: \(file.content.count) bytes)")
                } else {
                    let old = String(decoding: try connection.get(file.path), as: UTF8.self)
                    let diff = unifiedDiff(old: old, new: String(decoding: file.content, as: UTF8.self), path: file.path)
                    lines += diff.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 }
                }
            }
        }
        for action in changes.units {
            switch action {
            case .enable(let unit): lines.append("\(verb)enable \(unit)")
            case .start(let unit): lines.append("\(verb)start \(unit)")
            case .restart(let unit, let because): lines.append("\(verb)restart \(unit) (changed: \(because.joined(separator: ", ")))")
            case .reload(let unit, let because): lines.append("\(verb)reload \(unit) (changed: \(because.joined(separator: ", ")))")
            case .disable(let unit): lines.append("\(verb)stop and disable \(unit)")
            }
        }
        return lines
    }
}

struct EtcdHostFacts: Sendable {
    var hasData: Bool
    var members: [EtcdMember]?

    /// One round trip: whether the data directory holds a member, whether etcd runs, and if it
    /// does the member list (omitted when etcdctl fails: the member may be starting).
    static func probeScript(dataDirectory: String, etcdctl: String) -> String {
        """
        if [ -d \(shellQuote(dataDirectory))/member ]; then echo data; else echo empty; fi
        active=$(systemctl is-active etcd.service 2>/dev/null); echo "${active:-unknown}"
        if [ "$active" = active ]; then
          members=$(\(Etcdctl.command(etcdctl, "member list -w json")) 2>/dev/null) && printf '%s\\n' "$members"
        fi
        true
        """
    }

    static func parse(_ output: String, host: String) throws -> EtcdHostFacts {
        let lines = output.split(separator: "\n", maxSplits: 2).map(String.init)
        let hasData = lines.first == "data"
        let active = lines.dropFirst().first == "active"
        let list = lines.count > 2 ? lines[2].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return EtcdHostFacts(hasData: hasData, members: active && !list.isEmpty ? try EtcdMember.parseList(list, host: host) : nil)
    }
}

/// etcdctl on a node, talking to the local member over TLS with the health-check client.
enum Etcdctl {
    static func command(_ etcdctl: String, _ arguments: String, endpoints: String = "https://127.0.0.1:2379") -> String {
        let pki = DeployInputs.remotePKI
        return "ETCDCTL_API=3 \(shellQuote(etcdctl)) --endpoints=\(endpoints) --cacert=\(pki)/etcd/ca.crt --cert=\(pki)/etcd/healthcheck-client.crt --key=\(pki)/etcd/healthcheck-client.key --command-timeout=5s \(arguments)"
    }
}
