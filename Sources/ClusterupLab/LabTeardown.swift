import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `lab down` removed, and anything it could not.
public struct TeardownReport: Codable, Sendable {
    public var stoppedNodes: [String] = []
    /// Processes found by scanning, not in the recorded state (after a crash of `lab up`).
    public var strayProcesses: [Int32] = []
    public var unmounted: [String] = []
    public var removedLinks: [String] = []
    public var removedDirectory: String?
    /// Whatever remains; empty when the lab is gone.
    public var remaining: [String] = []
}

extension LabController {
    /// Whether anything of a lab of this name exists: state, bridge, mounts, veths or processes.
    func hasLeftovers() -> Bool {
        FileManager.default.fileExists(atPath: paths.directory) || system.links().contains(where: ownsLink)
            || !labMounts().isEmpty
    }

    func ownsLink(_ link: String) -> Bool {
        link == paths.name.bridge || (link.hasPrefix("vb-") && paths.name.ownsMachineName(String(link.dropFirst(3))))
    }

    /// Mounts beneath the lab's directory, deepest first.
    func labMounts() -> [String] {
        let prefix = paths.directory + "/"
        return Set(system.mounts().map(\.mountPoint).filter { $0.hasPrefix(prefix) })
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0 > $1 }
    }

    /// Removes everything of the lab: from its recorded state first, then whatever a scan by name
    /// finds (bridge, veths, mounts under its directory, nspawn processes on its node directories,
    /// and processes whose root is one of its node overlays).
    func down() throws -> TeardownReport {
        var report = TeardownReport()
        var recorded: LabState?
        do {
            recorded = try StateStore.load(paths)
        } catch {
            progress("warning: \(error); removing what can be found by name")
        }
        if var state = recorded {
            state.phase = .tearingDown
            try? StateStore.write(state, to: paths.stateFile)
            let results = Blocking.forEach(state.nodes, width: 64) { [self] node in
                try stop(node, mode: .kill, store: nil)
            }
            for (node, result) in zip(state.nodes, results) {
                switch result {
                case .failure(let error): progress("warning: \(node.name): \(error)")
                case .success(true): report.stoppedNodes.append(node.name)
                case .success(false): break
                }
            }
        }
        report.strayProcesses = killStrayProcesses()
        // Control groups of nodes the state no longer lists (a crash of `lab up`), by machine name.
        for machine in cgroups.machines() where paths.name.ownsMachineName(machine) {
            report.remaining += cgroups.remove(machine: machine).map { "control group \($0)" }
        }

        for mount in labMounts() {
            switch unmount(mount) {
            case .unmounted: report.unmounted.append(mount)
            case .detached: report.remaining.append("mount \(mount) was busy and is only detached: a process may still use it")
            case .failed: report.remaining.append("mount \(mount)")
            }
        }
        let links = system.links().filter(ownsLink).sorted { a, _ in a.hasPrefix("vb-") }
        for link in links {
            let result = try? commands.run("ip", ["link", "del", link])
            if result?.status == 0 || system.operationalState(of: link) == nil {
                report.removedLinks.append(link)
            } else {
                report.remaining.append("link \(link): \(result?.stderr ?? "")")
            }
        }
        if labMounts().isEmpty, FileManager.default.fileExists(atPath: paths.directory) {
            // Only with nothing mounted beneath it, and never crossing into another filesystem, so
            // removal cannot reach into a node's tree.
            let kept = system.removeTree(paths.directory)
            if kept.isEmpty { report.removedDirectory = paths.directory }
            report.remaining += kept.map { "file \($0) (on another filesystem)" }
        }
        releaseNspawnRuntime()
        return report
    }

    /// Kills processes of this lab that the state does not list: nspawn processes whose machine
    /// directory is one of the lab's nodes, and any process whose root is a node overlay (a node's
    /// init whose nspawn was killed). Only these, by pid.
    private func killStrayProcesses() -> [Int32] {
        let nodesPrefix = paths.nodesDirectory + "/"
        let roots = Set(labMounts().filter { $0.hasPrefix(nodesPrefix) }.compactMap(system.fileIdentity))
        let me = getpid()
        var found: [RecordedProcess] = []
        for process in system.allProcesses() where process.pid != me && process.state != "Z" {
            let directory = ProcFS.nspawnDirectory(system.commandLine(of: process.pid))
            let ownsDirectory = directory.map { $0.hasPrefix(nodesPrefix) } ?? false
            let rootedInNode = !roots.isEmpty && system.rootIdentity(of: process.pid).map(roots.contains) == true
            if ownsDirectory || rootedInNode {
                found.append(RecordedProcess(pid: process.pid, startTime: process.startTime))
            }
        }
        for process in found { system.signal(process, SIGKILL) }
        waitUntilGone(found, seconds: 10)
        return found.map(\.pid)
    }

    /// Unmounts, retrying while the last processes of a node exit; detaches lazily as a last resort.
    private enum Unmount { case unmounted, detached, failed }

    private func unmount(_ mountPoint: String) -> Unmount {
        for _ in 0..<20 {
            if (try? commands.run("umount", [mountPoint]))?.status == 0 { return .unmounted }
            usleep(100_000)
        }
        progress("warning: \(mountPoint) is busy; detaching it lazily")
        return (try? commands.run("umount", ["-l", mountPoint]))?.status == 0 ? .detached : .failed
    }

    /// Unmounts the tmpfs a lab put on /run/systemd/nspawn once no lab is left.
    private func releaseNspawnRuntime() {
        let ours = system.mounts().contains {
            $0.mountPoint == Self.nspawnRuntime && $0.source == Self.nspawnRuntimeSource
        }
        guard ours, otherLabs().isEmpty else { return }
        let anyNspawn = system.allProcesses().contains { $0.command == "systemd-nspawn" && $0.state != "Z" }
        guard !anyNspawn else { return }
        _ = try? commands.run("umount", [Self.nspawnRuntime])
    }
}
