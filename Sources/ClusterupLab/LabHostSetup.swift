import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `lab up` sets up on this machine before any node: nspawn's runtime directory, the inotify
/// limits, the lab's tmpfs, SSH key and bridge. Each step is recorded in the state store as it is
/// made, so `lab down` can undo a crash.
extension LabController {
    /// Name of the tmpfs put on /run/systemd/nspawn when that is not a tmpfs already (see
    /// `ensureNspawnRuntime`); recognised by this source name so only ours is ever unmounted.
    static let nspawnRuntimeSource = "clusterup-nspawn"
    static let nspawnRuntime = "/run/systemd/nspawn"

    /// nspawn keeps per-machine directories under /run/systemd/nspawn and refuses to remove them
    /// unless they are on a tmpfs. Hosts without systemd may have /run on disk: give nspawn a tmpfs.
    func ensureNspawnRuntime() throws {
        let runtime = Self.nspawnRuntime
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        if ["tmpfs", "ramfs"].contains(Self.fileSystemType(containing: runtime, mounts: system.mounts())) { return }
        progress("mounting a tmpfs on \(runtime) (systemd-nspawn needs it; /run is not a tmpfs here)")
        try commands.check("mount", ["-t", "tmpfs", "-o", "mode=0755,size=16m", Self.nspawnRuntimeSource, runtime],
                           what: "mounting \(runtime)")
    }

    /// The type of the filesystem a path is on: the mount with the longest mount point above it.
    static func fileSystemType(containing path: String, mounts: [ProcFS.Mount]) -> String? {
        mounts.filter { path == $0.mountPoint || path.hasPrefix($0.mountPoint == "/" ? "/" : $0.mountPoint + "/") }
            .max { $0.mountPoint.count < $1.mountPoint.count }?.fileSystemType
    }

    /// Each node's systemd, journald, networkd, logind... take inotify instances and watches of the
    /// same user (root); the kernel's default of 128 instances for all of root stops PID 1 of about
    /// the 20th node ("Too many open files"). Raised once, only upwards, and left raised (limits, not
    /// resources).
    static let inotifyLimits = [
        ("fs.inotify.max_user_instances", 8192),
        ("fs.inotify.max_user_watches", 524_288),
    ]

    /// The limits to raise, from what they are now (nil: unreadable, left alone): only upwards.
    static func inotifyRaises(current: [String: Int]) -> [(name: String, from: Int, to: Int)] {
        inotifyLimits.compactMap { name, wanted in
            guard let now = current[name], now < wanted else { return nil }
            return (name, now, wanted)
        }
    }

    static func sysctlPath(_ name: String) -> String {
        "/proc/sys/" + name.replacingOccurrences(of: ".", with: "/")
    }

    func ensureInotifyLimits() throws {
        var current: [String: Int] = [:]
        for (name, _) in Self.inotifyLimits {
            current[name] = system.readFile(Self.sysctlPath(name)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        for raise in Self.inotifyRaises(current: current) {
            progress("raising \(raise.name) from \(raise.from) to \(raise.to) (every node's systemd needs some)")
            do {
                try Data("\(raise.to)\n".utf8).write(to: URL(fileURLWithPath: Self.sysctlPath(raise.name)))
            } catch {
                throw ClusterupError.local("cannot raise \(raise.name): \(error)", hint: "run `sysctl \(raise.name)=\(raise.to)`")
            }
        }
    }

    func createLayers(_ store: StateStore) throws {
        let fileManager = FileManager.default
        for directory in [paths.logDirectory, paths.layers, paths.nodesDirectory] {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
        }
        try commands.check("mount", ["-t", "tmpfs", "-o", "mode=0700", "clusterup-lab-\(paths.name)", paths.layers],
                           what: "mounting the lab's tmpfs")
        try store.update { $0.mounts.append(paths.layers) }
    }

    func createLabKey() throws {
        try? FileManager.default.removeItem(atPath: paths.privateKey)
        try? FileManager.default.removeItem(atPath: paths.publicKey)
        try commands.check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "clusterup-lab-\(paths.name)",
                                          "-f", paths.privateKey], what: "making the lab's SSH key")
        chmod(paths.privateKey, 0o600)
    }

    func createBridge(_ store: StateStore, plan: AddressPlan) throws {
        let bridge = paths.name.bridge
        try commands.check("ip", ["link", "add", bridge, "type", "bridge"], what: "creating bridge \(bridge)")
        try store.update { $0.links.append(bridge) }
        try commands.check("ip", ["addr", "add", "\(plan.hostAddress)/\(AddressPlan.prefixLength)", "dev", bridge],
                           what: "addressing bridge \(bridge)")
        try commands.check("ip", ["link", "set", bridge, "up"], what: "bringing up bridge \(bridge)")
    }
}
