import ClusterupCore

/// Waiting for a condition on a node, in one command: the node polls itself with a shell loop.
/// Polling from here cost an SSH command (a channel, a shell, often a Go or Python program) every
/// half second on every node, and up to half a second of lag; on nodes sharing two cores with
/// ten others that work was a good part of a deploy.
public enum RemoteWait {
    /// A script that runs `check` every `interval` seconds until it exits 0 (then exits 0), or
    /// `seconds` have passed: then it runs `explain` with its output on stderr and exits 1.
    public static func script(until check: String, every interval: Double = 0.2, seconds: Int, explain: String) -> String {
        """
        deadline=$(( $(date +%s) + \(max(1, seconds)) ))
        while :; do
          if { \(check)
          } >/dev/null 2>&1; then exit 0; fi
          [ "$(date +%s)" -lt "$deadline" ] || break
          sleep \(interval)
        done
        { \(explain)
        } >&2
        exit 1
        """
    }

    /// Runs the wait on `connection`, the channel allowed a little longer than the node's own
    /// deadline; throws `failure(stderr)` when the condition never held.
    public static func run(
        until check: String, explain: String, timeout: Duration, on connection: some RemoteShell,
        failure: (String) -> ClusterupError
    ) throws {
        let seconds = Int(timeout.components.seconds)
        let result = try connection.run(script(until: check, seconds: seconds, explain: explain),
                                        sudo: true, timeout: Double(seconds + 15))
        guard result.succeeded else {
            throw failure(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
