import ClusterupNodes
import ClusterupCore
import ClusterupSSH

/// Writes every changed file (atomically, with mode and owner), reloads systemd when unit files
/// changed, applies changed sysctl files, enables units and stops units of the other VRRP backend.
/// Services are (re)started by the component phases after it, in an order that keeps quorum.
struct ApplyFilesPhase: DeployPhase {
    let title = "write files"
    let afterFailure = AfterFailure.nodesPartWay
    let changesHosts = true

    func skipReason(_ session: DeploySession) -> String? {
        session.with { state in state.changes.values.allSatisfy(\.isEmpty) } ? "no file or unit changes" : nil
    }

    func run(_ session: DeploySession) async throws {
        let (changes, desired) = session.with { ($0.changes, $0.desired) }
        let hosts = session.inventory.hosts.filter { changes[$0.name]?.isEmpty == false }
        try await session.onHosts(hosts, phase: self, step: "writing") { host, connection, reporter in
            let hostChanges = changes[host.name]!
            let directories = Set(hostChanges.files.map { parent(of: $0.file.path) })
            if !directories.isEmpty {
                // Private directories for keys; others as usual.
                let commands = directories.sorted().map { dir in
                    dir.hasPrefix(NodeLayout.pkiDirectory) || dir == DeployInputs.kubernetesDirectory
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
            // Applying sysctl files, enabling units and reloading systemd: one command, and at most
            // one daemon-reload (each `systemctl enable` would reload the manager again).
            let sysctl = desired[host.name]!.sysctlFiles.filter { path in hostChanges.files.contains { $0.file.path == path } }
            let enables = hostChanges.units.compactMap { if case .enable(let unit) = $0 { unit } else { nil } }
            var activation = sysctl.map { "sysctl -q -p \(shellQuote($0)) || exit $?" }
            if !enables.isEmpty { activation.append(enableUnitsScript(enables)) }
            if hostChanges.needsDaemonReload || !enables.isEmpty { activation.append("systemctl daemon-reload") }
            if !activation.isEmpty {
                reporter.step(enables.isEmpty ? "systemctl daemon-reload" : "enabling \(enables.joined(separator: ", "))")
                _ = try connection.checkedOutput(activation.joined(separator: "\n"))
            }
            for action in hostChanges.units {
                switch action {
                case .enable:
                    break
                case .disable(let unit):
                    reporter.step("stopping \(unit)")
                    let cleanup = desired[host.name]!.afterDisabling[unit].map { "\n" + $0 } ?? ""
                    _ = try connection.checkedOutput(disableScript(unit) + cleanup)
                case .start, .restart, .reload:
                    break
                }
            }
        }
    }
}

/// Enables `units` as `systemctl enable` does, without what makes it slow on a node: every
/// `systemctl enable` reloads the manager (a few tenths of a second of the node's CPU), and for a
/// unit whose package also ships a SysV script of the same name (Debian's etcd and haproxy) it
/// starts update-rc.d (perl), which fails when the package's runlevel links were removed. Units
/// without such a script go to one `systemctl enable --no-reload`; the others are linked into the
/// targets their [Install] section names, which is all enabling does for them under systemd. The
/// caller reloads the manager once afterwards. `root` prefixes every path (tests).
func enableUnitsScript(_ units: [String], root: String = "") -> String {
    let etc = shellQuote(root + "/etc/systemd/system")
    let searched = ["/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]
        .map { shellQuote(root + $0) }.joined(separator: " ")
    return """
    native=
    for u in \(units.map(shellQuote).joined(separator: " ")); do
      if [ ! -e \(shellQuote(root + "/etc/init.d"))/"${u%.service}" ]; then native="$native $u"; continue; fi
      path=
      for d in \(searched); do if [ -f "$d/$u" ]; then path="$d/$u"; break; fi; done
      [ -n "$path" ] || { echo "no unit file for $u" >&2; exit 1; }
      targets=$(sed -n 's/^WantedBy=//p' "$path")
      for t in ${targets:-multi-user.target}; do
        mkdir -p \(etc)/"$t.wants" && ln -sf "$path" \(etc)/"$t.wants/$u" || exit 1
      done
    done
    if [ -n "$native" ]; then systemctl enable --no-reload -q $native || exit $?; fi
    """
}

/// Stops and disables `unit`; for a unit with a SysV script whose runlevel links were removed,
/// systemctl's update-rc.d call fails, and removing the unit's links is all disabling does.
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
    try applyUnitChanges([unit], changes: changes, on: connection).first
}

/// Starts, restarts or reloads each of `units` that the host's changes name, in the order given,
/// with one command (one round trip), stopping at the first that fails; returns what it did.
func applyUnitChanges(_ units: [ManagedUnit], changes: HostChanges, on connection: some RemoteShell) throws -> [String] {
    var lines: [String] = []
    var done: [String] = []
    for unit in units {
        for action in changes.units where action.unit == unit.name {
            switch action {
            case .start:
                // A unit that is not active may be between automatic restarts (Restart=always
                // after a failed start): `start` would join the start job already running with
                // the old files and report its failure; `restart` replaces that job, and starts
                // an inactive unit just as `start` does.
                lines.append("systemctl restart \(shellQuote(unit.name)) || exit $?")
                done.append("\(action.verb.past) \(unit.name)")
            case .restart, .reload:
                lines.append("systemctl \(action.verb.base) \(shellQuote(unit.name)) || exit $?")
                done.append("\(action.verb.past) \(unit.name)")
            case .enable, .disable:
                continue
            }
            break
        }
    }
    if !lines.isEmpty { _ = try connection.checkedOutput(lines.joined(separator: "\n"), timeout: 120) }
    return done
}

extension HostChanges {
    func writes(_ path: String) -> Bool { files.contains { $0.file.path == path } }

    func touches(_ unit: String) -> Bool {
        units.contains { action in
            switch action {
            case .start(let name), .restart(let name, _), .reload(let name, _): name == unit
            case .enable, .disable: false
            }
        }
    }
}
