import ClusterupNodes

/// What the plan phase tells the operator: etcd membership changes, each host's changes (a real
/// run: one summary line per host; a dry run: every change, with the diff of each changed
/// configuration file) and the total. Pure: the hosts' current content of the diffed files is
/// read beforehand (`diffed` names them).
enum PlanReport {
    /// A line for one host, or (nil) the cluster.
    struct Line: Sendable, Equatable {
        var host: String?
        var text: String
    }

    /// - Parameters:
    ///   - hosts: the inventory's host names, in its order.
    ///   - current: per host, the current content of the files `diffed` names (dry run only).
    static func lines(_ plan: DeployPlan, hosts: [String], mode: RunMode, current: [String: [String: String]] = [:]) -> [Line] {
        var lines = etcdLines(plan, mode: mode)
        for host in hosts {
            guard let changes = plan.changes[host] else { continue }
            let text = mode.isDry ? details(changes, mode: mode, current: current[host] ?? [:]) : summary(changes)
            lines += text.map { Line(host: host, text: $0) }
        }
        lines.append(Line(host: nil, text: plan.isNoChange
            ? "no changes: every host already matches the inventory"
            : mode.ongoing(.change, "\(plan.itemCount) item(s) on \(plan.hostsChanged) host(s)")))
        return lines
    }

    static func etcdLines(_ plan: DeployPlan, mode: RunMode) -> [Line] {
        var lines = plan.leftOut.map { Line(host: $0, text: "etcd: not added as a member (unreachable); a deploy once it is back adds it") }
        switch plan.etcd {
        case .bootstrap(let peers):
            if !peers.isEmpty { lines.append(Line(host: nil, text: "etcd: " + mode.planned(.bootstrap, "a new cluster of \(peers.count) member(s)"))) }
        case .reconcile(let join, let remove):
            for peer in join {
                lines.append(Line(host: peer.name, text: "etcd: " + mode.planned(.add, "member \(peer.name) (\(peer.peerURL))")))
            }
            for member in remove {
                lines.append(Line(host: nil, text: "etcd: " + mode.planned(.remove, "member \(member.name.isEmpty ? member.hexID : member.name)")))
            }
        }
        return lines
    }

    /// One line for a host in a real run: how many files per component, and the unit actions.
    static func summary(_ changes: HostChanges) -> [String] {
        guard !changes.isEmpty else { return [] }
        var parts: [String] = []
        if !changes.files.isEmpty {
            var byComponent: [String: Int] = [:]
            for change in changes.files { byComponent[change.file.component, default: 0] += 1 }
            let detail = byComponent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            parts.append("\(Verb.write.base) \(changes.files.count) file(s) (\(detail))")
        }
        for verb in [Verb.disable, .enable, .start, .reload, .restart] {
            let units = changes.units.filter { $0.verb == verb }.map { $0.unit.replacingOccurrences(of: ".service", with: "") }
            if !units.isEmpty { parts.append("\(verb.base) \(units.joined(separator: ", "))") }
        }
        return [parts.joined(separator: "; ")]
    }

    /// Every change on one host, a line each; in a dry run with the diff of each changed
    /// configuration file (never of a secret, never of a binary) against `current`, the host's
    /// content of the files `diffed` names.
    static func details(_ changes: HostChanges, mode: RunMode, current: [String: String]) -> [String] {
        var lines: [String] = []
        // A first deploy installs some twenty PKI files per host: one line says it.
        let newPKI = changes.files.filter { $0.file.component == "pki" && $0.reason == .missing }
        let groupsPKI = newPKI.count > 3
        if groupsPKI {
            lines.append(mode.planned(.install, "\(newPKI.count) PKI files under \(NodeLayout.pkiDirectory)"))
        }
        for change in changes.files where !(groupsPKI && change.file.component == "pki" && change.reason == .missing) {
            let file = change.file
            switch change.reason {
            case .missing:
                lines.append(mode.planned(.create, "\(file.path) (\(file.component))"))
            case .metadata(let wasMode, let wasOwner, let wasGroup):
                lines.append(mode.planned(.set, "\(file.path) to mode \(String(file.mode, radix: 8)) \(file.owner):\(file.group)"
                                          + " (was \(String(wasMode, radix: 8)) \(wasOwner):\(wasGroup))"))
            case .content:
                lines.append(mode.planned(.update, "\(file.path) (\(file.component))"))
                guard mode.isDry else { continue }
                lines += contentDetail(file, current: current[file.path] ?? "")
            }
        }
        for action in changes.units {
            switch action {
            case .restart(let unit, let because), .reload(let unit, let because):
                lines.append(mode.planned(action.verb, "\(unit) (changed: \(because.joined(separator: ", ")))"))
            case .disable(let unit):
                lines.append(mode.planned(.stopAndDisable, unit))
            case .enable(let unit), .start(let unit):
                lines.append(mode.planned(action.verb, unit))
            }
        }
        return lines
    }

    /// What a dry run shows under a file whose content changes: the diff, or why not.
    static func contentDetail(_ file: ManagedFile, current: String) -> [String] {
        if file.sensitive { return ["  (secret: content not shown)"] }
        if !isShownAsText(file) { return ["  (binary: \(file.content.count) bytes)"] }
        let diff = unifiedDiff(old: file.redacted(current), new: file.redacted(String(decoding: file.content, as: UTF8.self)), path: file.path)
        return diff.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 }
    }

    /// The files whose diff a dry run shows, so whose current content is read from the host:
    /// changed content, neither a secret nor a binary.
    static func diffed(_ changes: HostChanges) -> [String] {
        changes.files.filter { $0.reason == .content && !$0.file.sensitive && isShownAsText($0.file) }.map(\.file.path)
    }

    /// Text small enough to diff: no NUL byte, at most 1 MiB.
    static func isShownAsText(_ file: ManagedFile) -> Bool {
        !file.content.contains(0) && file.content.count <= 1 << 20
    }
}
