import ClusterupCore
import ClusterupSSH

/// Writes every changed file (atomically, with mode and owner), reloads systemd when unit files
/// changed, applies changed sysctl files, enables units and stops units of the other VRRP backend.
/// Services are (re)started by the component phases after it, in an order that keeps quorum.
struct ApplyFilesPhase: DeployPhase {
    let title = "write files"
    let changesHosts = true

    func skipReason(_ session: DeploySession) -> String? {
        session.with { state in state.changes.values.allSatisfy(\.isEmpty) } ? "no file or unit changes" : nil
    }

    func run(_ session: DeploySession) async throws {
        let (changes, desired) = session.with { ($0.changes, $0.desired) }
        let hosts = session.inventory.hosts.filter { changes[$0.name]?.isEmpty == false }
        try await session.onHosts(hosts, phase: title, step: "writing") { host, connection, reporter in
            let hostChanges = changes[host.name]!
            let directories = Set(hostChanges.files.map { parent(of: $0.file.path) })
            if !directories.isEmpty {
                // Private directories for keys; others as usual.
                let commands = directories.sorted().map { dir in
                    dir.hasPrefix(DeployInputs.remotePKI) || dir == DeployInputs.kubernetesDirectory
                        ? "install -d -m 0700 \(shellQuote(dir))" : "mkdir -p \(shellQuote(dir))"
                }
                _ = try connection.checkedOutput(commands.joined(separator: " && "))
            }
            // The plan compared every file already: write them all without asking again, and put
            // them in place with one command rather than two per file.
            if !hostChanges.files.isEmpty {
                reporter.step("writing \(hostChanges.files.count) file(s)")
                try connection.putAll(hostChanges.files.map { change in
                    SSHConnection.UploadFile(change.file.content, to: change.file.path, mode: change.file.mode,
                                             owner: change.file.owner, group: change.file.group)
                })
            }
            if hostChanges.needsDaemonReload {
                reporter.step("systemctl daemon-reload")
                _ = try connection.checkedOutput("systemctl daemon-reload")
            }
            let sysctl = desired[host.name]!.sysctlFiles.filter { path in hostChanges.files.contains { $0.file.path == path } }
            for path in sysctl { _ = try connection.checkedOutput("sysctl -q -p \(shellQuote(path))") }
            // Enabling only writes symlinks: every unit in one script, stopping at the first failure.
            let enables = hostChanges.units.compactMap { if case .enable(let unit) = $0 { unit } else { nil } }
            if !enables.isEmpty {
                reporter.step("enabling \(enables.joined(separator: ", "))")
                _ = try connection.checkedOutput(enables.map { "{\n\(enableScript($0))\n} || exit $?" }.joined(separator: "\n"))
            }
            for action in hostChanges.units {
                switch action {
                case .enable:
                    break
                case .disable(let unit):
                    reporter.step("stopping \(unit)")
                    _ = try connection.checkedOutput(disableScript(unit))
                case .start, .restart, .reload:
                    break
                }
            }
        }
    }
}

/// `systemctl enable`, except that when the distribution also ships a SysV script of the same name
/// whose runlevel links were removed, systemd's update-rc.d call fails: then the unit is wanted by
/// multi-user.target directly, which is all enabling does for our units.
func enableScript(_ unit: String) -> String {
    let u = shellQuote(unit)
    return """
    systemctl enable -q \(u) 2>/dev/null || {
      path=$(systemctl show -p FragmentPath --value \(u))
      [ -n "$path" ] || { echo "no unit file for \(unit)" >&2; exit 1; }
      mkdir -p /etc/systemd/system/multi-user.target.wants
      ln -sf "$path" /etc/systemd/system/multi-user.target.wants/\(u)
    }
    """
}

/// Stops and disables `unit`, with the same SysV fallback as `enableScript`.
func disableScript(_ unit: String) -> String {
    let u = shellQuote(unit)
    return """
    systemctl stop \(u)
    systemctl disable -q \(u) 2>/dev/null || rm -f /etc/systemd/system/*.wants/\(u)
    """
}

func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
    return String(path[..<slash])
}

/// Starts, restarts or reloads `unit` on one host as its changes say; returns what it did.
func applyUnitChange(_ unit: ManagedUnit, changes: HostChanges, on connection: some RemoteShell) throws -> String? {
    for action in changes.units {
        switch action {
        case .start(let name) where name == unit.name:
            _ = try connection.checkedOutput("systemctl start \(shellQuote(name))", timeout: 120)
            return "started \(name)"
        case .restart(let name, _) where name == unit.name:
            _ = try connection.checkedOutput("systemctl restart \(shellQuote(name))", timeout: 120)
            return "restarted \(name)"
        case .reload(let name, _) where name == unit.name:
            _ = try connection.checkedOutput("systemctl reload \(shellQuote(name))", timeout: 120)
            return "reloaded \(name)"
        default:
            continue
        }
    }
    return nil
}

extension HostChanges {
    func touches(_ unit: String) -> Bool {
        units.contains { action in
            switch action {
            case .start(let name), .restart(let name, _), .reload(let name, _): name == unit
            case .enable, .disable: false
            }
        }
    }
}
