import ClusterupCore
import Foundation

/// `clusterup reset`: undoes what deploy installed on each host, so a later deploy starts from
/// bare nodes. Keeps etcd backups on the nodes and the local PKI. The etcd data directory is
/// moved aside (never silently deleted) unless the operator asks for its removal.
public struct ResetPlan: Sendable, Equatable {
    public enum EtcdData: Sendable, Equatable {
        /// Renamed to `<dir>.reset-<UTC timestamp>`; restorable by moving it back.
        case moveAside
        case delete
    }

    public var units: [String]
    /// Files and directories deploy owns outright.
    public var paths: [String]
    /// Configuration files of distribution packages that deploy overwrote: removed only when
    /// they still carry deploy's "Managed by clusterup" header.
    public var managedConfigs: [String]
    public var etcdDataDirectory: String
    public var etcdData: EtcdData
    public var keptDirectory: String
    /// The VIP this host may hold (nil: no vip section). A holder hands it over before anything else
    /// stops (`VIPRelease`).
    public var vipRelease: VIPRelease? = nil
    /// A running apiserver refuses new connections and lets open ones end before it stops.
    public var apiserverRefusal: APIServerRefusal? = nil

    /// The only directories reset removes whole: deploy made them and nothing else lives there.
    static let ownedDirectories: Set<String> = ["/etc/clusterup", DeployInputs.kubernetesDirectory]

    public static func plan(inventory: Inventory, settings: DeploySettings, etcdData: EtcdData) -> ResetPlan {
        var paths = [
            "/etc/systemd/system/etcd.service",
            "/etc/systemd/system/\(EtcdComponent.snapshotTimer)",
            "/etc/systemd/system/etcd-snapshot.service",
            "/etc/systemd/system/clusterup-vrrpd.service",
            "/etc/systemd/system/\(LoadBalancerComponent.firewallUnit)",
            "/etc/systemd/system/haproxy.service.d/clusterup.conf",
            "/etc/clusterup",
            LoadBalancerComponent.sysctlPath,
            DeployInputs.kubernetesDirectory,
        ]
        paths += Artifact.kubernetesComponents.map { "/etc/systemd/system/\($0).service" }
        // Programs deploy uploaded; those from packages or already present are the node's own.
        var uploaded = Set<String>()
        for name in Artifact.names {
            guard let artifact = settings.artifact(name) else { continue }
            switch artifact.source {
            case .url, .file: uploaded.insert(artifact.path)
            case .package, .present: break
            }
        }
        if inventory.vrrp?.backend != .keepalived, !inventory.hosts(withRole: .lb).isEmpty {
            uploaded.insert(settings.artifact("clusterup-vrrpd")?.path ?? "/usr/local/bin/clusterup-vrrpd")
        }
        paths += uploaded.sorted()
        return ResetPlan(
            units: ManagedUnits.all, paths: paths,
            managedConfigs: [LoadBalancerComponent.haproxyConfig, LoadBalancerComponent.keepalivedConfig],
            etcdDataDirectory: settings.etcd.dataDirectory, etcdData: etcdData,
            keptDirectory: settings.etcd.backupDirectory,
            vipRelease: inventory.vip.flatMap { vip in
                inventory.hosts(withRole: .lb).isEmpty ? nil : VIPRelease(address: vip.address, port: vip.port, vrrp: inventory.vrrp)
            },
            apiserverRefusal: inventory.hosts(withRole: .controlPlane).isEmpty ? nil : APIServerRefusal())
    }

    /// One script per host. It refuses while a deploy holds the lock, and prints one
    /// `removed|moved|kept|stopped …` line per thing it touched, so the report says exactly what
    /// happened even when it stops half-way.
    /// `overridingLock`: the lock found by the first run, left by a deploy that died
    /// (`DeployLock.decide`); reset removes it if it is still that lock, else reports it again.
    /// Stops a unit when it runs, and says so.
    public static func stop(_ unit: String) -> String {
        let u = shellQuote(unit)
        return "if [ \"$(systemctl is-active \(u) 2>/dev/null)\" = active ]; then systemctl stop \(u) && echo \"stopped \(unit)\"; fi\n"
    }

    public func script(timestamp: String, overridingLock: DeployLock.Observation? = nil, lockDirectory: String = DeployLock.directory) -> String {
        let lock = shellQuote(lockDirectory)
        var script = "set -u\n"
        if let observed = overridingLock {
            script += """
            if [ -d \(lock) ]; then
              \(DeployLock.guarded(lockDirectory))
              if [ \(DeployLock.currentToken(lockDirectory)) = \(shellQuote(observed.token)) ] && [ "$(stat -c %Y \(lock))" = \(shellQuote(observed.modified)) ]; then
                rm -rf \(lock) && echo "removed \(lockDirectory) (left by a deploy that died)"
              else
            \(DeployLock.reportHeld(lockDirectory))
                exit 0
              fi
            fi

            """
        } else {
            script += """
            if [ -d \(lock) ]; then
            \(DeployLock.reportHeld(lockDirectory))
              exit 0
            fi

            """
        }
        if let vipRelease {
            script += vipRelease.script(stoppingFirst: units.filter { VIPRelease.vrrpUnits.contains($0) }.map(Self.stop))
        }
        if let apiserverRefusal { script += apiserverRefusal.script() }
        for unit in units {
            let u = shellQuote(unit)
            script += Self.stop(unit) + """
            if [ "$(systemctl is-enabled \(u) 2>/dev/null)" = enabled ]; then systemctl disable -q \(u) && echo "disabled \(unit)"; fi

            """
        }
        // Stopping the allow-list's unit deletes its table, unless systemd could not run the stop
        // command (219/CGROUP in containers): delete it here too.
        script += LoadBalancerComponent.liftFirewall + "\n"
        if apiserverRefusal != nil { script += APIServerRefusal.lift }
        for path in paths {
            let p = shellQuote(path)
            if Self.ownedDirectories.contains(path) {
                script += "if [ -e \(p) ]; then rm -rf -- \(p) && echo \"removed \(path)\"; fi\n"
            } else {
                // Deploy wrote a file here: an artifact path such as /usr/local/bin must not take
                // the whole directory with it.
                script += "if [ -f \(p) ] || [ -L \(p) ]; then rm -f -- \(p) && echo \"removed \(path)\"; "
                    + "elif [ -e \(p) ]; then echo \"kept \(path) (not a file: reset removes only files deploy wrote)\"; fi\n"
            }
        }
        for path in managedConfigs {
            let p = shellQuote(path)
            script += "if [ -f \(p) ] && grep -q 'Managed by clusterup' \(p); then rm -f \(p) && echo \"removed \(path)\"; fi\n"
        }
        let data = shellQuote(etcdDataDirectory)
        switch etcdData {
        case .moveAside:
            let aside = etcdDataDirectory + ".reset-" + timestamp
            script += "if [ -d \(data) ]; then mv \(data) \(shellQuote(aside)) && echo \"moved \(etcdDataDirectory) \(aside)\"; fi\n"
        case .delete:
            script += "if [ -d \(data) ]; then rm -rf \(data) && echo \"removed \(etcdDataDirectory) (etcd data deleted)\"; fi\n"
        }
        let kept = shellQuote(keptDirectory)
        script += """
        if [ -d \(kept) ]; then echo "kept \(keptDirectory) ($(ls \(kept) | wc -l) file(s))"; fi
        systemctl daemon-reload
        systemctl reset-failed 2>/dev/null || true
        echo done

        """
        return script
    }
}

/// What reset did on one host, parsed from its script's lines.
public struct ResetOutcome: Sendable, Equatable {
    /// The deploy lock reset found held (and therefore touched nothing).
    public var lock: DeployLock.Observation?
    /// Another clusterup was taking the lock over at the same moment.
    public var lockBusy = false
    public var lockedBy: String? { lock?.description ?? (lockBusy ? "another clusterup taking the lock over right now" : nil) }
    public var stopped: [String] = []
    public var disabled: [String] = []
    public var removed: [String] = []
    /// (from, to) of moved directories.
    public var moved: [(String, String)] = []
    public var kept: [String] = []
    /// The VIP this host held and handed over before its services stopped.
    public var handedOver: String?
    /// The host forwarded what still reached it for the VIP during the hand-over.
    public var forwardedDuringHandover = false
    /// The apiserver refused new connections and its open ones ended before it stopped.
    public var refusedNewAPIServerConnections = false
    public var completed = false

    public static func == (a: ResetOutcome, b: ResetOutcome) -> Bool {
        a.lock == b.lock && a.lockBusy == b.lockBusy && a.stopped == b.stopped && a.disabled == b.disabled && a.removed == b.removed && a.kept == b.kept && a.handedOver == b.handedOver
            && a.forwardedDuringHandover == b.forwardedDuringHandover && a.refusedNewAPIServerConnections == b.refusedNewAPIServerConnections
            && a.completed == b.completed && a.moved.elementsEqual(b.moved) { $0 == $1 }
    }

    public init() {}

    public static func parse(_ output: String) -> ResetOutcome {
        var outcome = ResetOutcome()
        switch DeployLock.parse(output) {
        case .held(let observed): outcome.lock = observed
        case .busy: outcome.lockBusy = true
        default: break
        }
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            let rest = words.count > 1 ? words[1] : ""
            switch words.first {
            case "stopped": outcome.stopped.append(rest)
            case "disabled": outcome.disabled.append(rest)
            case "removed": outcome.removed.append(rest)
            case "moved":
                let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
                if parts.count == 2 { outcome.moved.append((parts[0], parts[1])) }
            case "kept": outcome.kept.append(rest)
            case "handed-over": outcome.handedOver = rest
            case "forwarded-during-handover": outcome.forwardedDuringHandover = true
            case "refused-new": outcome.refusedNewAPIServerConnections = true
            case "done": outcome.completed = true
            default: break
            }
        }
        return outcome
    }

    public var isNothing: Bool { stopped.isEmpty && disabled.isEmpty && removed.isEmpty && moved.isEmpty }
}

public enum Reset {
    public static func run(_ plan: ResetPlan, hosts: [InventoryHost], sessions: HostSessions, now: Date = Date()) async -> [HostResult<ResetOutcome>] {
        let stamp = timestamp(now)
        let script = plan.script(timestamp: stamp)
        let local = DeployLock.LocalProcessTable.current()
        let staleAfter = Int(DeployOptions.defaultStaleLockAfter.components.seconds)
        return await sessions.run(hosts, step: "resetting") { host, connection, _ in
            var result = try connection.run(script, sudo: true, timeout: 180)
            var outcome = ResetOutcome.parse(result.stdoutText)
            var reason = ""
            if let observed = outcome.lock {
                switch DeployLock.decide(observed, staleAfter: staleAfter, local: local) {
                case .takeOver:
                    result = try connection.run(plan.script(timestamp: stamp, overridingLock: observed), sudo: true, timeout: 180)
                    outcome = ResetOutcome.parse(result.stdoutText)
                case .held(let why): reason = " (\(why))"
                }
            }
            if let holder = outcome.lockedBy {
                throw ClusterupError.remote(
                    "a deploy holds the lock: \(holder)\(reason); nothing was removed", host: host.name,
                    hint: "wait for it to finish; if it died on another machine, its lock is stale after \(staleAfter)s without a refresh, or remove \(DeployLock.directory) on \(host.name)")
            }
            guard result.succeeded, outcome.completed else {
                let done = outcome.stopped.map { "stopped \($0)" } + outcome.disabled.map { "disabled \($0)" } + outcome.removed.map { "removed \($0)" }
                throw ClusterupError.remote(
                    "reset stopped part-way (exit \(result.exitStatus)): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)); done so far: \(done.isEmpty ? "nothing" : done.joined(separator: ", "))",
                    host: host.name, hint: "fix the cause and run reset again; it continues from what is left")
            }
            return outcome
        }
    }

    /// `20261122T055900Z`: sorts by time and is safe in a path.
    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
