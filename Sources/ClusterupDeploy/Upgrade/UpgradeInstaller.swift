import ClusterupCore
import ClusterupSSH

/// `upgrade apply`'s installer: deploy's own machinery — the same phases up to the plan
/// (connect, preflight, lock, artifacts, PKI, plan: the new programs fetched and checked against
/// their sha256, every host's desired files compared with what it has) — then, per step, only the
/// part of one host's changes that belongs to one component: its program and unit file written
/// as deploy writes them, systemd reloaded when a unit file changed, its service restarted. There
/// is no second installer. The deploy lock is held from `prepare` to `finish`, so a deploy (or a
/// second upgrade) cannot run beside it.
public final class UpgradeInstaller: Sendable {
    public let session: DeploySession

    static let preparation: [any DeployPhase] = [ConnectPhase(), PreflightPhase(), LockPhase(), ArtifactsPhase(), PKIPhase(), PlanPhase()]

    public init(session: DeploySession) {
        self.session = session
    }

    /// Runs deploy's phases up to the plan; on failure releases the lock and closes connections.
    public func prepare() async throws {
        do {
            for phase in Self.preparation {
                try Task.checkCancellation()
                session.emit(.phaseStarted(phase.title))
                let clock = ContinuousClock(), started = clock.now
                try await phase.run(session)
                session.emit(.phaseFinished(phase.title, timing: PhaseTiming(elapsed: clock.now - started, cpu: .zero)))
            }
        } catch {
            await finish()
            throw error
        }
    }

    /// Releases the lock and closes the connections (also after a failure or Ctrl-C).
    public func finish() async {
        await LockPhase.release(session)
        session.closeAll()
    }

    /// Stops before the next step when another deploy took the lock over (it judged it stale).
    public func checkLock() throws {
        try LockPhase.checkStillHeld(session)
    }

    /// The open connections of `hosts`, by name, as the rollout's shells.
    public func shells(_ hosts: [InventoryHost]) throws -> [String: any RemoteShell] {
        var shells: [String: any RemoteShell] = [:]
        for host in hosts { shells[host.name] = try session.connection(host.name) }
        return shells
    }

    /// Changes deploy would make that are not part of any component the upgrade touches
    /// (a changed setting, a certificate): left to `clusterup deploy`, named in the report.
    public func otherChanges(upgrading components: Set<UpgradeComponent>) -> [String] {
        let changes = session.with { $0.changes }
        return session.inventory.hosts.flatMap { host -> [String] in
            guard var rest = changes[host.name] else { return [] }
            for component in components {
                let part = Self.changes(rest, for: component)
                rest.files.removeAll { change in part.files.contains { $0.file.path == change.file.path } }
                rest.units.removeAll { part.units.contains($0) }
            }
            return PlanReport.summary(rest).map { "\(host.name): \($0)" }
        }
    }

    /// Writes `component`'s changed files on `host` and restarts its service; returns what it did.
    /// Blocking: call it from a dedicated thread.
    public func install(_ component: UpgradeComponent, on host: String) throws -> [String] {
        let part = Self.changes(session.with { $0.changes[host] } ?? HostChanges(host: host), for: component)
        return try Self.apply(part, component: component, on: try session.connection(host))
    }

    /// The part of a host's changes that belongs to one component: the files that restart its
    /// service (program, unit file, configuration; not the PKI's) and its service's actions. Pure.
    public static func changes(_ changes: HostChanges, for component: UpgradeComponent) -> HostChanges {
        var part = HostChanges(host: changes.host)
        part.files = changes.files.filter { $0.file.restarts.contains(component.unit) && $0.file.component != "pki" }
        part.units = changes.units.filter { action in
            switch action {
            case .enable(let unit), .start(let unit), .restart(let unit, _), .reload(let unit, _): unit == component.unit
            case .disable: false
            }
        }
        return part
    }

    /// The commands `apply` runs for `part` (after the files are written): systemd reloaded when
    /// a unit file changed, then the service restarted — always, since the version the host runs
    /// is what changes (a `present` program replaced in place writes no file). Pure.
    public static func restartScript(_ part: HostChanges, component: UpgradeComponent) -> String {
        var lines: [String] = []
        if part.needsDaemonReload { lines.append("systemctl daemon-reload") }
        lines.append("systemctl restart \(shellQuote(component.unit))")
        return lines.joined(separator: " && ")
    }

    static func apply(_ part: HostChanges, component: UpgradeComponent, on connection: some RemoteShell) throws -> [String] {
        var done = try write(part, on: connection)
        _ = try connection.checkedOutput(restartScript(part, component: component), timeout: 120)
        done.append("restarted \(component.unit)")
        return done
    }

    /// How a restart in place went.
    public enum InPlace: Sendable, Equatable {
        /// The daemon runs the new build under the same pid; `lines` say what was done.
        case restarted(lines: [String])
        /// It did not happen; the daemon runs as before (or was restarted by systemd, `reason`
        /// says which). The caller restarts it the usual way, with the hand-over.
        case notDone(reason: String, lines: [String])
    }

    /// clusterup-vrrpd on the VIP holder: its changed files written (the binary atomically, as
    /// every upload), then `restartInPlaceScript` — unless its unit file changed, which only a
    /// restart applies (then systemd is reloaded and the caller restarts it). Blocking.
    public func installInPlace(on host: String) throws -> InPlace {
        let component = UpgradeComponent.clusterupVRRPD
        let part = Self.changes(session.with { $0.changes[host] } ?? HostChanges(host: host), for: component)
        let connection = try session.connection(host)
        let binary = session.settings.artifact("clusterup-vrrpd")?.path ?? "clusterup-vrrpd"
        let lines = try Self.write(part, on: connection)
        guard !part.needsDaemonReload else {
            _ = try connection.checkedOutput("systemctl daemon-reload")
            return .notDone(reason: "its unit file changes, which only a restart applies", lines: lines + ["reloaded systemd"])
        }
        let output = try connection.checkedOutput(Self.restartInPlaceScript(binary: binary), timeout: 60)
        return Self.parseInPlace(output, lines: lines)
    }

    /// Checks the binary against the digest deploy recorded (as the unit's ExecStartPre does
    /// before a start), sends SIGUSR2 to the unit's main process and waits (10 s at most) until
    /// that same pid runs an image with the recorded digest and its status counts one more
    /// restart in place. Prints one `@@restarted N`, `@@refused WHY` or `@@exited WHY` line. Pure.
    public static func restartInPlaceScript(binary: String) -> String {
        let unit = shellQuote(UpgradeComponent.clusterupVRRPD.unit)
        let digest = shellQuote(LoadBalancerComponent.vrrpdDigest)
        let count = "\(shellQuote(binary)) status 2>/dev/null | tr -d ' \\n' | sed -n 's/.*\"restarts_in_place\":\\([0-9]*\\).*/\\1/p'"
        return """
            pid=$(systemctl show -p MainPID --value \(unit))
            if [ -z "$pid" ] || [ "$pid" = 0 ]; then echo "@@refused \(UpgradeComponent.clusterupVRRPD.unit) is not running"; exit 0; fi
            if ! sha256sum --check --status --strict \(digest); then echo "@@refused \(binary) does not match \(LoadBalancerComponent.vrrpdDigest)"; exit 0; fi
            want=$(cut -d' ' -f1 \(digest))
            before=$(\(count))
            if [ -z "$before" ]; then echo "@@refused the running daemon does not report restarts_in_place (an older build)"; exit 0; fi
            since=$(date +%s)
            systemctl kill --kill-whom=main --signal=SIGUSR2 \(unit) || { echo "@@refused systemctl kill failed"; exit 0; }
            i=0
            while [ $i -lt 200 ]; do
              i=$((i+1)); sleep 0.05
              if [ "$(systemctl show -p MainPID --value \(unit))" != "$pid" ]; then echo "@@exited the daemon (pid $pid) exited instead of replacing itself: systemd restarted it"; exit 0; fi
              now=$(\(count))
              if [ -n "$now" ] && [ "$now" != "$before" ] && [ "$(sha256sum /proc/$pid/exe 2>/dev/null | cut -d' ' -f1)" = "$want" ]; then echo "@@restarted $now"; exit 0; fi
              refused=$(journalctl -u \(unit) --since "@$since" -o cat 2>/dev/null | grep 'event=restart-in-place-refused' | tail -1)
              if [ -n "$refused" ]; then echo "@@refused $refused"; exit 0; fi
            done
            echo "@@refused no restart in place within 10 s"
            """
    }

    /// The script's verdict. Pure.
    public static func parseInPlace(_ output: String, lines: [String]) -> InPlace {
        guard let line = output.split(separator: "\n").map(String.init).last(where: { $0.hasPrefix("@@") }) else {
            return .notDone(reason: "the restart in place printed no verdict", lines: lines)
        }
        let words = line.dropFirst(2).split(separator: " ", maxSplits: 1).map(String.init)
        let rest = words.count > 1 ? words[1] : ""
        switch words.first {
        case "restarted": return .restarted(lines: lines + ["restarted in place (SIGUSR2, same pid; restarts in place: \(rest))"])
        case "exited": return .notDone(reason: rest, lines: lines)
        default: return .notDone(reason: rest.isEmpty ? line : rest, lines: lines)
        }
    }

    /// Writes the part's files; returns what it wrote.
    static func write(_ part: HostChanges, on connection: some RemoteShell) throws -> [String] {
        var done: [String] = []
        if !part.files.isEmpty {
            let directories = Set(part.files.map { parent(of: $0.file.path) }).sorted()
            _ = try connection.checkedOutput(directories.map { "mkdir -p \(shellQuote($0))" }.joined(separator: " && "))
            try connection.putAll(part.files.map { change in
                SSHConnection.UploadFile(change.file.content, to: change.file.path, mode: change.file.mode,
                                         owner: change.file.owner, group: change.file.group)
            })
            done.append("wrote " + part.files.map(\.file.path).joined(separator: ", "))
        }
        return done
    }

    /// What `host` runs of each component now (`--version` of each program its roles run, or of
    /// `only` those), as `upgrade plan` reads it. Blocking.
    public func versions(on host: InventoryHost, only components: Set<UpgradeComponent>? = nil) throws -> HostVersions {
        let connection = try session.connection(host.name)
        // A turn asks for its own component's `--version`, not every program the host runs.
        let script = UpgradeProbe.script(for: host, inventory: session.inventory, settings: session.settings,
                                         only: components.map { Set($0.map(\.rawValue)) })
        return try UpgradeProbe.parse(try connection.checkedOutput(script, timeout: 30), host: host, inventory: session.inventory).versions
    }
}

extension UpgradeComponent {
    /// The systemd unit that runs the component (deploy's names).
    public var unit: String {
        switch self {
        case .etcd: "etcd.service"
        case .kubeAPIServer: "kube-apiserver.service"
        case .kubeControllerManager: "kube-controller-manager.service"
        case .kubeScheduler: "kube-scheduler.service"
        case .haproxy: "haproxy.service"
        case .keepalived: "keepalived.service"
        case .clusterupVRRPD: "clusterup-vrrpd.service"
        }
    }
}
