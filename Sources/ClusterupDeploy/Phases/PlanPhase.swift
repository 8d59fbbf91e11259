import ClusterupNodes
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
        let dataDir = settings.etcd.dataDirectory
        // The version of the etcd a joining member will run is known before any change only when
        // it comes from the host's package or is present there; an uploaded binary is not read.
        let etcdBinary: String? = settings.artifact("etcd").flatMap { artifact in
            switch artifact.source {
            case .package, .present: artifact.path
            case .url, .file: nil
            }
        }

        // What every host should have, but for etcd's bootstrap file, which depends on the
        // membership read below: enough to know which files and units to read.
        let (pkiPlan, pkiFiles, uploads) = session.with { ($0.pkiPlan!, $0.pkiFiles, $0.uploads) }
        let templates = try TemplateSet(overrides: settings.templates)
        var vrrpConfigs: [String: String] = [:]
        if let vrrp = inventory.vrrp, let vip = inventory.vip {
            for host in inventory.hosts(withRole: .lb) {
                vrrpConfigs[host.name] = try VRRPConfigRenderer.render(for: host, inventory: inventory, vrrp: vrrp, vip: vip, templates: templates)
            }
        }
        var inputs = DeployInputs(
            inventory: inventory, settings: settings, templates: templates, pki: pkiPlan, pkiFiles: pkiFiles,
            uploads: uploads, vrrpConfigs: vrrpConfigs, etcdBootstrap: [:])
        var probes: [String: String] = [:]
        for host in inventory.hosts {
            let state = try DeployPlanner.desiredState(for: host, inputs)
            var paths = state.files.map(\.path)
            if host.roles.contains(.etcd) { paths.append(EtcdComponent.bootstrapPath) }
            // etcd's member list (a Go program and a TLS handshake) from one member is enough.
            let etcd = host.roles.contains(.etcd)
                ? EtcdHostFacts.probeScript(dataDirectory: dataDir, etcdctl: etcdctl, listMembers: host == etcdHosts.first,
                                            etcd: etcdBinary) : nil
            probes[host.name] = HostProbe.script(
                etcd: etcd, observed: HostObservedState.probeScript(paths: paths, units: state.units.map(\.name) + state.disabledUnits))
        }

        // 1. One probe per host: its etcd member's state, and its files and units.
        let scripts = probes
        let readings = try await session.onHosts(inventory.hosts, phase: title, step: "reading state") { host, connection, _ in
            try HostProbe.parse(try connection.checkedOutput(scripts[host.name]!, timeout: 30), host: host.name)
        }
        var etcdFacts = readings.compactMapValues(\.etcd)
        if etcdHosts.first.map({ etcdFacts[$0.name]?.members == nil }) ?? false,
           let active = etcdHosts.first(where: { etcdFacts[$0.name]?.active == true }) {
            // The first member is down: ask one that runs.
            let listed = try await session.onHosts([active], phase: title, step: "reading etcd members") { host, connection, _ in
                try EtcdHostFacts.parse(try connection.checkedOutput(
                    EtcdHostFacts.probeScript(dataDirectory: dataDir, etcdctl: etcdctl, listMembers: true), timeout: 30), host: host.name)
            }
            if var facts = listed[active.name] {
                facts.version = etcdFacts[active.name]?.version
                etcdFacts[active.name] = facts
            }
        }

        // 2. etcd: who holds data, and the member list from a running member.
        let hostsWithData = Set(etcdFacts.filter { $0.value.hasData }.map(\.key))
        let members = etcdHosts.lazy.compactMap { etcdFacts[$0.name]?.members }.first
        let peers = etcdHosts.map { EtcdPeer(name: $0.name, address: $0.privateAddress) }
        let skipped = session.skippedHosts
        var etcdPlan = try EtcdMembershipPlan.plan(desired: peers, members: members, hostsWithData: hostsWithData)
        if let refusal = UnreachableHosts.etcdRefusal(etcdPlan, skipped: skipped) {
            throw ClusterupError.badInput(refusal, at: inventory.path, hint: "bring the host back, or take it out of the etcd role")
        }
        let (reachablePlan, leftOut) = UnreachableHosts.withoutSkipped(etcdPlan, skipped: skipped)
        etcdPlan = reachablePlan
        for name in leftOut { session.note(name, "etcd: not added as a member (unreachable); a deploy once it is back adds it") }
        var bootstrap: [String: (initialCluster: String, state: String)] = [:]
        switch etcdPlan {
        case .bootstrap(let peers):
            let cluster = EtcdMembershipPlan.initialCluster(bootstrapping: peers)
            for peer in peers { bootstrap[peer.name] = (cluster, "new") }
            if !peers.isEmpty { session.note(nil, "etcd: bootstrap a new cluster of \(peers.count) member(s)") }
        case .reconcile(let join, let remove):
            let started = (members ?? []).filter(\.isStarted).map(\.name)
            if let refusal = EtcdVersionSkew.refusal(
                joining: join.map { ($0.name, etcdFacts[$0.name]?.version) },
                members: started.map { ($0, etcdFacts[$0]?.version) }) {
                throw ClusterupError.badInput(refusal.message, at: inventory.path, hint: refusal.hint)
            }
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

        // 3. What every host should have, and the difference with what it has.
        inputs.etcdBootstrap = bootstrap
        var desired: [String: HostDesiredState] = [:]
        var changes: [String: HostChanges] = [:]
        for host in inventory.hosts {
            let state = try DeployPlanner.desiredState(for: host, inputs)
            desired[host.name] = state
            // A skipped host was not read and gets no change.
            changes[host.name] = readings[host.name].map { HostChanges.plan(desired: state, observed: $0.observed, hash: sha256Hex) }
                ?? HostChanges(host: host.name)
        }
        let dryRun = session.options.dryRun
        if dryRun {
            // Diffs need the hosts' current files: only for files that changed.
            let planned = changes
            let described = try await session.onHosts(inventory.hosts, phase: title, step: "comparing") { host, connection, _ in
                try PlanPhase.describe(planned[host.name]!, dryRun: true, connection: connection)
            }
            for host in inventory.hosts { for line in described[host.name] ?? [] { session.note(host.name, line) } }
        } else {
            for host in inventory.hosts { for line in PlanPhase.summarize(changes[host.name]!) { session.note(host.name, line) } }
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
            lines.append("\(verb)install \(newPKI.count) PKI files under \(NodeLayout.pkiDirectory)")
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
                    let diff = unifiedDiff(old: file.redacted(old), new: file.redacted(String(decoding: file.content, as: UTF8.self)),
                                           path: file.path)
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
    /// systemd says the member runs.
    var active: Bool
    var members: [EtcdMember]?
    /// What the host's etcd binary says it is (`3.5.16`); nil when there is none or it says nothing.
    var version: EtcdVersion?

    static let versionMarker = "etcd-version "

    /// One round trip: whether the data directory holds a member, whether etcd runs, the etcd
    /// binary's version (when `etcd` names one), and if it runs and `listMembers`, the member
    /// list (omitted when etcdctl fails: the member may be starting).
    static func probeScript(dataDirectory: String, etcdctl: String, listMembers: Bool = true, etcd: String? = nil) -> String {
        var script = """
        if [ -d \(shellQuote(dataDirectory))/member ]; then echo data; else echo empty; fi
        active=$(systemctl is-active etcd.service 2>/dev/null); echo "${active:-unknown}"

        """
        if let etcd {
            script += "echo \"\(versionMarker)$(\(shellQuote(etcd)) --version 2>/dev/null | sed -n 's/^etcd Version: //p' | head -n 1)\"\n"
        }
        if listMembers {
            script += """
            if [ "$active" = active ]; then
              members=$(\(Etcdctl.command(etcdctl, "member list -w json")) 2>/dev/null) && printf '%s\\n' "$members"
            fi

            """
        }
        return script + "true\n"
    }

    static func parse(_ output: String, host: String) throws -> EtcdHostFacts {
        var lines = output.split(separator: "\n", maxSplits: 2).map(String.init)
        let hasData = lines.first == "data"
        let active = lines.dropFirst().first == "active"
        var version: EtcdVersion?
        if lines.count > 2, lines[2].hasPrefix(versionMarker) {
            let rest = lines[2].split(separator: "\n", maxSplits: 1).map(String.init)
            version = EtcdVersion(String(rest[0].dropFirst(versionMarker.count)))
            lines[2] = rest.count > 1 ? rest[1] : ""
        }
        let list = lines.count > 2 ? lines[2].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return EtcdHostFacts(hasData: hasData, active: active,
                             members: active && !list.isEmpty ? try EtcdMember.parseList(list, host: host) : nil,
                             version: version)
    }
}

/// The plan's one probe per host: the etcd member's state (etcd hosts) and the state of every
/// file and unit deploy manages there, in two sections.
enum HostProbe {
    static let separator = "@@clusterup-observed-state"

    static func script(etcd: String?, observed: String) -> String {
        (etcd.map { "{\n\($0)}\n" } ?? "") + "echo \(separator)\n" + observed
    }

    static func parse(_ output: String, host: String) throws -> (etcd: EtcdHostFacts?, observed: HostObservedState) {
        guard let range = output.range(of: separator + "\n") ?? output.range(of: separator) else {
            throw ClusterupError.remote("the state probe stopped early: '\(output.suffix(200))'", host: host)
        }
        let before = output[..<range.lowerBound]
        let etcd = before.isEmpty ? nil : try EtcdHostFacts.parse(String(before), host: host)
        return (etcd, try HostObservedState.parse(String(output[range.upperBound...]), host: host))
    }
}
