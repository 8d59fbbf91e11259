import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A control group of its own for each node, in the v1 `name=systemd` hierarchy and in cgroup2.
///
/// nspawn runs with `--keep-unit` and no machined, so a node's root cgroup is the one nspawn was
/// started in, plus "payload": without this every node of every lab shares `/payload`, and each
/// node's systemd makes the same `system.slice/<unit>` groups there. Under cgroup v1 a node sees
/// only its own processes in them; under cgroup2 (Debian 13 nodes) `cgroup.events` says
/// "populated" while another node's keepalived is in "its" keepalived.service, so after a crash
/// systemd waits in "deactivating" until the stop timeout (and `cgroup.kill` would reach the
/// other nodes' processes). Started in `clusterup-lab/<machine>`, each node has its own tree.
struct NodeCgroups: Sendable {
    static let group = "clusterup-lab"
    /// Source name of the cgroup2 mount made when this host has none mounted, so only ours is unmounted.
    static let mountSource = "clusterup-cgroup2"
    static let ownMount = "/run/clusterup-lab/cgroup2"
    static let legacyRoot = "/sys/fs/cgroup/systemd"

    let commands: HostCommands
    let system: HostSystem

    /// The roots of the hierarchies a node is placed in: v1 name=systemd when mounted, and cgroup2
    /// (mounted on a path of ours when this host has it nowhere).
    func roots() throws -> [String] {
        let mounts = system.mounts()
        var roots: [String] = []
        if mounts.contains(where: { $0.mountPoint == Self.legacyRoot && $0.fileSystemType == "cgroup" }) {
            roots.append(Self.legacyRoot)
        }
        if let unified = Self.unifiedMount(mounts) {
            roots.append(unified)
        } else {
            try FileManager.default.createDirectory(atPath: Self.ownMount, withIntermediateDirectories: true)
            try commands.check("mount", ["-t", "cgroup2", Self.mountSource, Self.ownMount], what: "mounting cgroup2 on \(Self.ownMount)")
            roots.append(Self.ownMount)
        }
        return roots
    }

    /// Where cgroup2 is mounted on this host (ours first), if anywhere.
    static func unifiedMount(_ mounts: [ProcFS.Mount]) -> String? {
        let unified = mounts.filter { $0.fileSystemType == "cgroup2" }
        return (unified.first { $0.source == mountSource } ?? unified.first)?.mountPoint
    }

    static func directory(root: String, machine: String) -> String { "\(root)/\(group)/\(machine)" }

    /// Makes the node's groups and returns the `cgroup.procs` files its nspawn must join.
    func prepare(machine: String) throws -> [String] {
        try roots().map { root in
            let directory = Self.directory(root: root, machine: machine)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return "\(directory)/cgroup.procs"
        }
    }

    /// A /bin/sh script that moves itself into the node's groups, then execs its arguments
    /// (nspawn), so nspawn starts there and keeps the pid the lab records.
    static func joinThenExec(_ procsFiles: [String]) -> String {
        (procsFiles.map { "echo $$ > \(shellQuote($0))" } + ["exec \"$@\""]).joined(separator: " && ")
    }

    /// Machine names that have a group (in either hierarchy).
    func machines() -> Set<String> {
        var roots = [Self.legacyRoot]
        if let unified = Self.unifiedMount(system.mounts()) { roots.append(unified) }
        return Set(roots.flatMap { root -> [String] in
            let directory = "\(root)/\(Self.group)"
            return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { entry in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: "\(directory)/\(entry)", isDirectory: &isDirectory) && isDirectory.boolValue
            }
        })
    }

    /// Removes the node's groups once it is stopped: deepest first (its systemd left its slices
    /// behind, empty); a group still holding a process stays (rmdir fails) and is reported.
    func remove(machine: String) -> [String] {
        let mounts = system.mounts()
        var roots: [String] = []
        if FileManager.default.fileExists(atPath: "\(Self.legacyRoot)/\(Self.group)") { roots.append(Self.legacyRoot) }
        if let unified = Self.unifiedMount(mounts) { roots.append(unified) }
        return roots.flatMap { root -> [String] in
            let directory = Self.directory(root: root, machine: machine)
            guard FileManager.default.fileExists(atPath: directory) else { return [] }
            return removeGroups(directory)
        }
    }

    private func removeGroups(_ directory: String) -> [String] {
        var kept: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            var isDirectory: ObjCBool = false
            let path = "\(directory)/\(entry)"
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                kept += removeGroups(path)
            }
        }
        if kept.isEmpty, rmdir(directory) != 0 { kept.append(directory) }
        return kept
    }
}
