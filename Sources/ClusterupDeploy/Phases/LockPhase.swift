import ClusterupCore
import Foundation

/// Takes a lock directory on every host so two deploys never interleave; a second deploy is
/// refused naming who holds the lock and since when. A lock older than `staleLockAfter` (a
/// deploy that died) is taken over with a warning.
struct LockPhase: DeployPhase {
    let title = "lock"
    let changesHosts = true
    static let directory = "/var/lib/clusterup/deploy.lock"

    func run(_ session: DeploySession) async throws {
        let owner = LockPhase.ownerLine()
        let staleSeconds = Int(session.options.staleLockAfter.components.seconds)
        let script = LockPhase.acquireScript(owner: owner, staleSeconds: staleSeconds)
        let results = await FanOut(concurrency: session.options.concurrency).run(
            session.inventory.hosts, initialStep: "locking", progress: { [emit = session.emit] in emit(.host($0)) }
        ) { host, _ in
            let connection = try session.connection(host.name)
            let outcome = try LockPhase.parse(try connection.checkedOutput(script), host: host.name)
            // A deploy from this machine that died (Ctrl-C twice, kill -9) left its lock: take it over.
            if case .held(let by) = outcome, LockPhase.isDeadLocalOwner(by) {
                let takeOver = LockPhase.acquireScript(owner: owner, staleSeconds: 0)
                return try LockPhase.parse(try connection.checkedOutput(takeOver), host: host.name)
            }
            return outcome
        }
        var failures: [(host: String, error: String)] = []
        for result in results {
            switch result.outcome {
            case .success(.acquired(let tookOver)):
                session.with { $0.lockedHosts.append(result.host) }
                if let tookOver { session.note(result.host, "took over a stale deploy lock: \(tookOver)") }
            case .success(.held(let by)):
                failures.append((result.host, "another deploy holds the lock: \(by)"))
            case .failure(let error):
                failures.append((result.host, describe(error)))
            }
        }
        if !failures.isEmpty {
            await LockPhase.release(session)
            throw DeployFailure(
                phase: title, failures: failures,
                state: "No node was changed. Wait for the other deploy to finish; if it died, its lock goes stale after \(staleSeconds / 60) min, or remove \(LockPhase.directory) on the host.")
        }
    }

    enum Outcome: Sendable { case acquired(tookOver: String?), held(by: String) }

    static func ownerLine() -> String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? "root"
        let since = ISO8601DateFormatter().string(from: Date())
        return "\(user)@\(ProcessInfo.processInfo.hostName) pid \(getpid()) since \(since)"
    }

    /// The owner line names this machine and a process that no longer exists.
    static func isDeadLocalOwner(_ owner: String) -> Bool {
        let words = owner.split(separator: " ")
        guard let at = words.first?.split(separator: "@").last, String(at) == ProcessInfo.processInfo.hostName,
              let pidIndex = words.firstIndex(of: "pid"), pidIndex + 1 < words.count,
              let pid = Int32(words[pidIndex + 1]), pid != getpid()
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// mkdir is atomic: exactly one deploy creates the directory.
    static func acquireScript(owner: String, staleSeconds: Int) -> String {
        let dir = shellQuote(directory)
        return """
        mkdir -p /var/lib/clusterup
        took=""
        if ! mkdir \(dir) 2>/dev/null; then
          age=$(( $(date +%s) - $(stat -c %Y \(dir)) ))
          if [ "$age" -lt \(staleSeconds) ]; then echo "held $(cat \(dir)/owner 2>/dev/null)"; exit 0; fi
          took="$(cat \(dir)/owner 2>/dev/null) (${age}s old)"
          rm -rf \(dir) && mkdir \(dir) || { echo "held $took"; exit 0; }
        fi
        echo \(shellQuote(owner)) > \(dir)/owner
        echo "acquired $took"
        """
    }

    static func parse(_ output: String, host: String) throws -> Outcome {
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        if line.hasPrefix("acquired") {
            let took = line.dropFirst("acquired".count).trimmingCharacters(in: .whitespaces)
            return .acquired(tookOver: took.isEmpty ? nil : took)
        }
        if line.hasPrefix("held") { return .held(by: String(line.dropFirst(5))) }
        throw ClusterupError.remote("unexpected answer from the lock script: '\(line)'", host: host)
    }

    /// Releases the locks this session holds; also runs after a failure or Ctrl-C.
    static func release(_ session: DeploySession) async {
        let locked = session.with { state in
            defer { state.lockedHosts = [] }
            return state.lockedHosts
        }
        let hosts = session.inventory.hosts.filter { locked.contains($0.name) }
        guard !hosts.isEmpty else { return }
        _ = await FanOut(concurrency: session.options.concurrency).run(hosts, initialStep: "unlocking") { host, _ in
            _ = try session.connection(host.name).checkedOutput("rm -rf \(shellQuote(directory))")
        }
    }
}
