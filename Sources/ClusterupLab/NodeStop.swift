import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Stopping a node: by its init (killing nspawn alone would leave the node running, reparented),
/// then its nspawn, then its control groups.
extension LabController {
    enum StopMode: Sendable {
        case poweroff, kill

        /// The signals sent to the node's init in turn, each with how long it is given to go: systemd
        /// powers off on SIGRTMIN+4 (systemd(1)), and SIGKILL follows if it hangs.
        var steps: [(signal: Int32, grace: Double)] {
            switch self {
            case .poweroff: [(__libc_current_sigrtmin() + 4, 30), (SIGKILL, 5)]
            case .kill: [(SIGKILL, 5)]
            }
        }
    }

    /// Stops a node; true when it had an init to stop.
    @discardableResult
    func stop(_ node: LabNode, mode: StopMode, store: StateStore?) throws -> Bool {
        // A crash of `lab up` can leave nspawn recorded but not yet its init: find it now.
        let initProcess = node.initProcess ?? node.nspawn.flatMap(childInit)
        if let initProcess, system.isAlive(initProcess) {
            for step in mode.steps {
                system.signal(initProcess, step.signal)
                if waitUntilGone([initProcess], seconds: step.grace) { break }
            }
        }
        if let nspawn = node.nspawn, system.isAlive(nspawn) {
            // nspawn exits by itself once its init is gone; SIGKILL only if it lingers (or never
            // got as far as starting an init).
            if !waitUntilGone([nspawn], seconds: initProcess == nil ? 0 : 5) {
                system.signal(nspawn, SIGKILL)
                _ = waitUntilGone([nspawn], seconds: 5)
            }
        }
        let kept = cgroups.remove(machine: node.machine)
        if !kept.isEmpty { progress("warning: \(node.name): control groups still in use: \(kept.joined(separator: ", "))") }
        try store?.updateNode(node.index) { $0.nspawn = nil; $0.initProcess = nil }
        return initProcess != nil
    }

    /// The init (systemd) that an nspawn process started, if it has started one.
    func childInit(of nspawn: RecordedProcess) -> RecordedProcess? {
        guard system.isAlive(nspawn) else { return nil }
        return Self.initProcess(of: nspawn.pid, among: system.allProcesses())
    }

    @discardableResult
    func waitUntilGone(_ processes: [RecordedProcess], seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while processes.contains(where: system.isAlive) {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }

    func isRunning(_ node: LabNode) -> Bool {
        node.initProcess.map(system.isAlive) ?? false
    }
}
