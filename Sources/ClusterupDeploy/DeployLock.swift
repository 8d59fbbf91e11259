import ClusterupCore
import ClusterupSSH
import Foundation

/// The deploy lock on a host: a directory (`mkdir` is atomic) holding an owner record that names
/// the clusterup process holding it. The holder touches the directory every `refreshInterval`, so
/// a lock only goes stale when its holder stopped refreshing. Deploy, etcd restore and reset share
/// it; the decision to take a lock over is the pure `decide`.
public enum DeployLock {
    public static let directory = "/var/lib/clusterup/deploy.lock"
    static let parent = "/var/lib/clusterup"
    /// A lock is stale after this many refreshes were missed.
    public static let missedRefreshes = 3

    /// How often the holder refreshes: a third of the stale age, at most a minute, at least a second.
    public static func refreshInterval(staleAfter: Duration) -> Duration {
        max(.seconds(1), min(.seconds(60), staleAfter / missedRefreshes))
    }

    /// Who holds a lock: enough to tell, on the machine that took it, whether that process still runs.
    public struct Owner: Sendable, Equatable {
        public var user: String
        public var host: String
        /// /etc/machine-id of the machine running clusterup: host names repeat, machine ids do not.
        public var machineID: String
        /// /proc/sys/kernel/random/boot_id: a pid from an earlier boot is not this boot's process.
        public var bootID: String
        public var pid: Int32
        /// Field 22 of /proc/<pid>/stat (clock ticks after boot): a reused pid has another.
        public var processStart: UInt64
        /// Random; only the holder knows it, so only the holder releases or refreshes the lock.
        public var token: String
        public var since: String
        /// What the holder runs, when it is not a deploy ("certs rotate-ca"): named in refusals.
        public var operation: String?

        public init(user: String, host: String, machineID: String, bootID: String, pid: Int32, processStart: UInt64,
                    token: String, since: String, operation: String? = nil) {
            self.user = user
            self.host = host
            self.machineID = machineID
            self.bootID = bootID
            self.pid = pid
            self.processStart = processStart
            self.token = token
            self.since = since
            self.operation = operation
        }

        /// The record as written into `<lock>/owner`: one `key=value` line each.
        public var record: String {
            let fields = [("user", user), ("host", host), ("machine", machineID), ("boot", bootID), ("pid", String(pid)),
                          ("start", String(processStart)), ("token", token), ("since", since)] + (operation.map { [("operation", $0)] } ?? [])
            return fields.map { "\($0.0)=\(Self.oneLine($0.1))\n" }.joined()
        }

        /// nil for a record clusterup did not write whole (an older version's line, or a lock
        /// whose owner is still being written).
        public init?(record: String) {
            var fields: [String: String] = [:]
            for line in record.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            guard let user = fields["user"], let host = fields["host"], let machine = fields["machine"],
                  let boot = fields["boot"], let pid = fields["pid"].flatMap({ Int32($0) }),
                  let start = fields["start"].flatMap({ UInt64($0) }), let token = fields["token"], !token.isEmpty,
                  let since = fields["since"]
            else { return nil }
            self.init(user: user, host: host, machineID: machine, bootID: boot, pid: pid, processStart: start,
                      token: token, since: since, operation: fields["operation"].flatMap { $0.isEmpty ? nil : $0 })
        }

        /// What an operator reads: who, where, which process, since when (never the token).
        public var description: String { "\(user)@\(host) pid \(pid) since \(since)" + (operation.map { ", running \($0)" } ?? "") }

        /// The record is line based: a value never carries a line break or other control character.
        static func oneLine(_ value: String) -> String {
            String(String.UnicodeScalarView(value.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
        }

        /// This process, on this machine.
        public static func current(local: LocalProcessTable, operation: String? = nil, now: Date = Date()) -> Owner {
            var bytes = SystemRandomNumberGenerator()
            let token = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &bytes)) }.joined()
            let pid = getpid()
            return Owner(
                user: ProcessInfo.processInfo.environment["USER"] ?? "root", host: ProcessInfo.processInfo.hostName,
                machineID: local.machineID ?? "", bootID: local.bootID ?? "", pid: pid,
                processStart: local.startTime(pid) ?? 0, token: token, since: ISO8601DateFormatter().string(from: now),
                operation: operation)
        }
    }

    /// A lock found held on a host, as the acquire script reports it.
    public struct Observation: Sendable, Equatable {
        /// Seconds since the holder last refreshed it (the directory's mtime).
        public var age: Int
        /// The directory's mtime: a take-over goes ahead only if it is unchanged.
        public var modified: String
        /// The owner file as found (may be empty or an older version's single line).
        public var rawOwner: String
        public var owner: Owner? { Owner(record: rawOwner) }

        public init(age: Int, modified: String, rawOwner: String) {
            self.age = age
            self.modified = modified
            self.rawOwner = rawOwner
        }

        /// The token the take-over compares, "" when the record has none.
        var token: String { owner?.token ?? "" }

        public var description: String {
            let who = owner?.description
                ?? (rawOwner.isEmpty ? "an unknown owner" : Owner.oneLine(rawOwner.trimmingCharacters(in: .whitespacesAndNewlines)))
            return "\(who), refreshed \(age)s ago"
        }
    }

    /// What the machine running clusterup knows about its own processes.
    public struct LocalProcessTable: Sendable {
        public var machineID: String?
        public var bootID: String?
        /// The start time of a running process, nil when there is none with that pid.
        public var startTime: @Sendable (Int32) -> UInt64?

        public init(machineID: String?, bootID: String?, startTime: @escaping @Sendable (Int32) -> UInt64?) {
            self.machineID = machineID
            self.bootID = bootID
            self.startTime = startTime
        }

        /// Read from /etc/machine-id and /proc.
        public static func current() -> LocalProcessTable {
            @Sendable func read(_ path: String) -> String? {
                (try? String(contentsOfFile: path, encoding: .utf8))
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
            }
            return LocalProcessTable(
                machineID: read("/etc/machine-id"), bootID: read("/proc/sys/kernel/random/boot_id"),
                startTime: { pid in read("/proc/\(pid)/stat").flatMap(processStart(stat:)) })
        }

        /// Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and ')'.
        static func processStart(stat: String) -> UInt64? {
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is field 3 (state), so field 22 is fields[19].
            return fields.count > 19 ? UInt64(fields[19]) : nil
        }
    }

    public enum Decision: Sendable, Equatable {
        case takeOver(reason: String)
        case held(reason: String)
    }

    /// Whether a held lock may be taken over. A lock taken on this machine (same machine id) is
    /// taken over exactly when its process is gone: the machine rebooted, the pid is free, or the
    /// pid now belongs to a process that started at another time. A live holder keeps it however
    /// old it is. A lock from another machine, or one whose owner cannot be read, is taken over
    /// only when stale: nobody refreshed it for `staleAfter` seconds.
    public static func decide(_ observed: Observation, staleAfter: Int, local: LocalProcessTable) -> Decision {
        if let owner = observed.owner, let machine = local.machineID, !owner.machineID.isEmpty, owner.machineID == machine {
            if let boot = local.bootID, owner.bootID != boot {
                return .takeOver(reason: "this machine rebooted since it was taken")
            }
            guard let start = local.startTime(owner.pid) else {
                return .takeOver(reason: "process \(owner.pid) on this machine is gone")
            }
            guard start == owner.processStart else {
                return .takeOver(reason: "pid \(owner.pid) on this machine is now another process")
            }
            return .held(reason: "process \(owner.pid) on this machine still runs")
        }
        if observed.age >= staleAfter {
            return .takeOver(reason: "not refreshed for \(observed.age)s (stale after \(staleAfter)s)")
        }
        return .held(reason: "stale only after \(staleAfter)s without a refresh")
    }

    // MARK: Scripts. Every value is one quoted word; the scripts print `lock.` lines that `parse` reads.
    // `lock` is the lock directory (tests use a scratch one).

    /// What the node prints about a lock it found (shared with reset's check).
    static func reportHeld(_ lock: String = directory) -> String {
        let dir = shellQuote(lock)
        return """
        echo lock.state=held
        modified=$(stat -c %Y \(dir) 2>/dev/null || date +%s)
        echo "lock.age=$(( $(date +%s) - modified ))"
        echo "lock.modified=$modified"
        sed 's/^/lock.owner./' \(dir)/owner 2>/dev/null
        """
    }

    /// Takes the lock if nobody holds it, else reports who does.
    public static func acquireScript(_ owner: Owner, lock: String = directory) -> String {
        let dir = shellQuote(lock)
        return """
        mkdir -p \(shellQuote(parent(of: lock)))
        if mkdir \(dir) 2>/dev/null; then
          printf %s \(shellQuote(owner.record)) > \(dir)/owner && echo lock.state=acquired
        else
        \(reportHeld(lock))
        fi
        """
    }

    static func parent(of lock: String) -> String { (lock as NSString).deletingLastPathComponent }

    /// Holds the parent directory's flock so two take-overs (or a take-over and a release) never
    /// interleave; gives up after 10 s.
    static func guarded(_ lock: String) -> String {
        "exec 9<\(shellQuote(parent(of: lock))) && flock -w 10 9 || { echo lock.state=busy; exit 0; }"
    }

    /// The token in the lock's owner record, "" when there is none.
    static func currentToken(_ lock: String) -> String {
        "\"$(sed -n 's/^token=//p' \(shellQuote(lock))/owner 2>/dev/null)\""
    }

    /// Replaces the lock observed in `observed` by `owner`'s, only if it is still that lock
    /// (same token, not refreshed since).
    public static func takeOverScript(_ observed: Observation, by owner: Owner, lock: String = directory) -> String {
        let dir = shellQuote(lock)
        return """
        mkdir -p \(shellQuote(parent(of: lock)))
        \(guarded(lock))
        if [ -d \(dir) ] && [ \(currentToken(lock)) = \(shellQuote(observed.token)) ] && [ "$(stat -c %Y \(dir))" = \(shellQuote(observed.modified)) ]; then
          rm -rf \(dir) && mkdir \(dir) && printf %s \(shellQuote(owner.record)) > \(dir)/owner && echo lock.state=acquired && exit 0
        fi
        echo lock.state=changed
        """
    }

    /// Touches the lock if it is still ours.
    public static func refreshScript(token: String, lock: String = directory) -> String {
        "if [ \(currentToken(lock)) = \(shellQuote(token)) ]; then touch \(shellQuote(lock)) && echo lock.state=refreshed; else echo lock.state=lost; fi"
    }

    /// Removes the lock only if it is still ours: a lock taken over meanwhile belongs to someone else.
    public static func releaseScript(token: String, lock: String = directory) -> String {
        let dir = shellQuote(lock)
        return """
        [ -d \(dir) ] || { echo lock.state=released; exit 0; }
        \(guarded(lock))
        if [ \(currentToken(lock)) = \(shellQuote(token)) ]; then rm -rf \(dir) && echo lock.state=released; else echo lock.state=lost; fi
        """
    }

    public enum Report: Sendable, Equatable {
        case acquired, held(Observation), changed, busy, refreshed, released, lost
    }

    /// Reads the `lock.` lines a script printed.
    public static func parse(_ output: String) -> Report? {
        var state: String?
        var age = 0, modified = "", owner = ""
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("lock.state=") { state = String(line.dropFirst("lock.state=".count)) }
            else if line.hasPrefix("lock.age=") { age = Int(line.dropFirst("lock.age=".count)) ?? 0 }
            else if line.hasPrefix("lock.modified=") { modified = String(line.dropFirst("lock.modified=".count)) }
            else if line.hasPrefix("lock.owner.") { owner += line.dropFirst("lock.owner.".count) + "\n" }
        }
        switch state {
        case "acquired": return .acquired
        case "held": return .held(Observation(age: age, modified: modified, rawOwner: owner))
        case "changed": return .changed
        case "busy": return .busy
        case "refreshed": return .refreshed
        case "released": return .released
        case "lost": return .lost
        default: return nil
        }
    }

    public enum Outcome: Sendable, Equatable {
        case acquired(tookOver: String?)
        case held(by: String)
    }

    /// Taking the lock on every host, summed up: the caller goes on only without refusals (and
    /// then releases the hosts it did lock). Deploy, `upgrade apply` and the operations under
    /// the lock (`OperationLock`) refuse with the same words.
    public struct Acquisition: Sendable, Equatable {
        public struct HostNote: Sendable, Equatable {
            public var host: String
            public var text: String
        }
        public var locked: [String] = []
        /// Dead holders' locks taken over: whose.
        public var tookOver: [HostNote] = []
        /// Hosts held by another holder, or where the lock could not be taken: why.
        public var refusals: [HostNote] = []

        public init(_ results: [(host: String, outcome: Result<Outcome, any Error>)]) {
            for (host, outcome) in results {
                switch outcome {
                case .success(.acquired(let from)):
                    locked.append(host)
                    if let from { tookOver.append(HostNote(host: host, text: from)) }
                case .success(.held(let by)):
                    refusals.append(HostNote(host: host, text: "another deploy holds the lock: \(by)"))
                case .failure(let error):
                    refusals.append(HostNote(host: host, text: ClusterupCore.describe(error)))
                }
            }
        }
    }

    /// Takes the lock on one host (blocking: run it on a FanOut thread): acquires a free lock,
    /// takes over a dead one, reports a live one.
    static func acquire(_ connection: SSHConnection, host: String, as owner: Owner, staleAfter: Int,
                        local: LocalProcessTable) throws -> Outcome {
        let first = try connection.checkedOutput(acquireScript(owner))
        switch parse(first) {
        case .acquired: return .acquired(tookOver: nil)
        case .held(let observed):
            switch decide(observed, staleAfter: staleAfter, local: local) {
            case .held(let reason):
                return .held(by: "\(observed.description) (\(reason))")
            case .takeOver(let reason):
                switch parse(try connection.checkedOutput(takeOverScript(observed, by: owner))) {
                case .acquired: return .acquired(tookOver: "\(observed.description) (\(reason))")
                default: return .held(by: "\(observed.description) (it changed while being taken over)")
                }
            }
        default:
            throw ClusterupError.remote("unexpected answer from the lock script: '\(first.trimmingCharacters(in: .whitespacesAndNewlines))'", host: host)
        }
    }
}
