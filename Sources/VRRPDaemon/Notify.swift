import VRRPConfig
import CVRRPSys

/// Runs notify hooks on state changes without waiting for them, keepalived-style:
/// `/bin/sh -c '<command> "$@"' notify INSTANCE <name> <STATE> <priority>`; reaped later.
final class Notifier {
    private var running: [(pid: Int32, command: String)] = []

    func notify(commands: [String], instance: String, state: String, priority: UInt8) {
        for command in commands {
            let argv = ["/bin/sh", "-c", command + " \"$@\"", "notify", "INSTANCE", instance, state, String(priority)]
            let pid = withCStringArray(argv) { cvrrp_spawn($0) }
            if pid < 0 {
                Log.error("notify-failed", ["instance": instance, "command": command,
                                            "error": SystemError("spawn", errno: -pid).description])
            } else {
                running.append((pid, command))
            }
        }
    }

    /// Collects finished hooks; logs the ones that failed.
    func reap() {
        running.removeAll { entry in
            var status: Int32 = 0
            guard cvrrp_reap(entry.pid, &status) == 1 else { return false }
            if status != 0 { Log.warning("notify-exit", ["command": entry.command, "status": String(status)]) }
            return true
        }
    }

    var isIdle: Bool { running.isEmpty }
}
