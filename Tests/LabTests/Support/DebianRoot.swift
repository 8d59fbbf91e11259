import Foundation
@testable import ClusterupLab

/// A clean Debian root for one test, with no Swift toolchain and no source tree: an overlay over
/// the cached debootstrap image that scripts/pkgtest-image builds once per release, whose changes
/// go to a tmpfs and vanish with `remove()`. Commands run in it with chroot, so they share this
/// machine's network: apt reaches Debian's mirror and clusterup reaches the lab's bridge.
struct DebianRoot {
    let release: String
    let directory: String
    var root: String { directory + "/root" }

    static func make(_ release: String) async throws -> DebianRoot {
        let image = try await Blocking.run {
            try HostCommands().check(ClusterupBinary.repo.appendingPathComponent("scripts/pkgtest-image").path, [release],
                                     what: "build the \(release) image").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let directory = "/var/lib/clusterup/pkgtest/\(release)-\(getpid())"
        let made = DebianRoot(release: release, directory: directory)
        do {
            try await Blocking.run {
                let commands = HostCommands()
                try FileManager.default.createDirectory(atPath: directory + "/layers", withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: made.root, withIntermediateDirectories: true)
                try commands.check("mount", ["-t", "tmpfs", "-o", "mode=0755", "clusterup-pkgtest", directory + "/layers"], what: "mount a tmpfs")
                for sub in ["upper", "work"] {
                    try FileManager.default.createDirectory(atPath: "\(directory)/layers/\(sub)", withIntermediateDirectories: true)
                }
                try commands.check("mount", ["-t", "overlay", "overlay", "-o",
                                             "lowerdir=\(image),upperdir=\(directory)/layers/upper,workdir=\(directory)/layers/work", made.root],
                                   what: "mount the overlay")
                try commands.check("mount", ["-t", "proc", "proc", made.root + "/proc"], what: "mount /proc")
                try commands.check("cp", ["/etc/resolv.conf", made.root + "/etc/resolv.conf"], what: "copy resolv.conf")
            }
        } catch {
            await made.remove()
            throw error
        }
        return made
    }

    /// `command` under /bin/sh inside the root, with a clean environment; killed after `limit` s.
    func run(_ command: String, limit: Int = 300) async throws -> HostCommands.Result {
        let root = root
        return try await Blocking.run {
            try HostCommands().run("timeout", ["--kill-after=10", String(limit), "chroot", root, "/usr/bin/env", "-i",
                                               "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                               "HOME=/root", "LANG=C.UTF-8", "USER=root", "/bin/sh", "-c", command])
        }
    }

    /// Copies a file of this machine into the root at `path`.
    func copy(_ source: String, to path: String) throws {
        let target = root + path
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }

    func remove() async {
        let directory = directory, root = root
        _ = try? await Blocking.run {
            let commands = HostCommands()
            for mount in [root + "/proc", root, directory + "/layers"] { _ = try? commands.run("umount", [mount]) }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
