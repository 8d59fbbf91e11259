import ClusterupCore

/// What deploy calls around restarting a running kube-apiserver, so that no HAProxy sends it a new
/// connection while it is down. Deploy does not drain by itself: the drain is the rollout
/// mechanism's (`BackendDrain` in ClusterupRollout), and ClusterupRollout depends on this target.
/// The command line injects a guard built on it (`DeployOptions.apiserverRestartGuard`); without
/// one (the library alone, unit tests) deploy restarts apiservers one at a time undrained.
/// Blocking, like every host operation of a phase: called on a dedicated thread.
public protocol APIServerRestartGuard: Sendable {
    /// Before `server`'s apiserver restarts: every HAProxy in `balancers` stops sending it new
    /// connections, and open ones end (or a limit passes). Returns a line for the report.
    func drain(_ server: String, balancers: [String: any RemoteShell]) throws -> String
    /// After its own /readyz answered: it is back in every one of `balancers`' rotation.
    func undrain(_ server: String, balancers: [String: any RemoteShell]) throws
}

/// Which control-plane hosts start or restart in a deploy, in which order, and which restarts are
/// drained through which HAProxies. Pure: the changes and the roles in, the turns out.
public struct ControlPlaneRestarts: Sendable, Equatable {
    /// Hosts with no apiserver running yet: started together (no client can reach them yet).
    public var fresh: [String]
    /// Hosts whose running units restart: one at a time, in inventory order.
    public var rolling: [Turn]

    public struct Turn: Sendable, Equatable {
        public var host: String
        /// The lb hosts whose HAProxy drains this apiserver first; empty: restarted undrained.
        public var drainThrough: [String]
        /// Why it is not drained (nil when it is).
        public var undrainedBecause: String?
    }

    public static let apiserverUnit = "kube-apiserver.service"
    static let haproxyUnit = "haproxy.service"

    /// `controlPlane` and `balancers` in inventory order; `skipped`: hosts this run leaves out;
    /// `canDrain`: a restart guard was given.
    public static func plan(controlPlane: [String], balancers: [String], changes: [String: HostChanges],
                            units: [String], skipped: Set<String>, canDrain: Bool) -> ControlPlaneRestarts {
        let touched = controlPlane.filter { host in
            !skipped.contains(host) && units.contains { changes[host]?.touches($0) == true }
        }
        let fresh = touched.filter { changes[$0]!.units.contains(.start(apiserverUnit)) }
        let running = touched.filter { !fresh.contains($0) }
        // Only an HAProxy already running holds the apiservers in its rotation; one this deploy
        // starts comes up after the control plane with the new configuration.
        let proxies = balancers.filter { host in
            !skipped.contains(host) && changes[host]?.units.contains(.start(haproxyUnit)) != true
        }
        // Apiservers that were serving before this run (those HAProxy sends clients to).
        let serving = controlPlane.filter { !skipped.contains($0) && !fresh.contains($0) }
        let turns = running.map { host -> Turn in
            let restartsAPIServer = changes[host]!.units.contains {
                if case .restart(apiserverUnit, _) = $0 { true } else { false }
            }
            let reason: String? =
                !restartsAPIServer ? "kube-apiserver does not restart"
                : !canDrain ? "no drain available"
                : proxies.isEmpty ? "no running HAProxy"
                : serving.count < 2 ? "no other apiserver to take its clients"
                : nil
            return Turn(host: host, drainThrough: reason == nil ? proxies : [], undrainedBecause: reason)
        }
        return ControlPlaneRestarts(fresh: fresh, rolling: turns)
    }
}
