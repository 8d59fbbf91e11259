import ClusterupCore
import ClusterupDeploy
import ClusterupSSH
import Foundation

/// Finds the clusterup-vrrpd to upload, refusing one that needs the Swift runtime (nodes have none)
/// or that someone else could have replaced: the file found is run as root on every lb host.
enum VRRPDaemonBinary {
    struct Located: Equatable {
        var path: String
        var sha256: String
    }

    /// With clusterup-vrrpd as the VRRP backend and no `artifacts.clusterup-vrrpd`, the binary
    /// found here becomes the artifact deploy uploads; nil when there is none to add.
    static func defaultArtifact(into settings: inout DeploySettings, inventory: Inventory, explicit: String?) throws -> Located? {
        guard settings.artifacts["clusterup-vrrpd"] == nil, !inventory.hosts(withRole: .lb).isEmpty,
              inventory.vrrp?.backend != .keepalived else { return nil }
        let binary = try locate(explicit: explicit)
        // The digest taken here is checked again when deploy reads the file to upload it,
        // and by the node before it starts the daemon.
        settings.artifacts["clusterup-vrrpd"] = Artifact(
            name: "clusterup-vrrpd", source: .file(binary.path, sha256: binary.sha256), path: "/usr/local/bin/clusterup-vrrpd")
        return binary
    }

    static func locate(explicit: String?) throws -> Located {
        let environment = ProcessInfo.processInfo.environment["CLUSTERUP_VRRPD"]
        let candidates = candidates(explicit: explicit, environment: environment, executable: runningExecutable())
        var dynamic: [String] = []
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            if isStatic(path) {
                try refuseIfReplaceable(path)
                guard let bytes = FileManager.default.contents(atPath: path) else {
                    throw ClusterupError.local("cannot read \(path)")
                }
                return Located(path: path, sha256: sha256Hex([UInt8](bytes)))
            }
            dynamic.append(path)
            if path == explicit { break }
        }
        throw ClusterupError.badInput(
            dynamic.isEmpty ? "no clusterup-vrrpd binary found (looked at \(candidates.joined(separator: ", ")))"
                            : "\(dynamic[0]) links the Swift runtime dynamically; lb nodes have no Swift runtime",
            hint: "pass --vrrpd-binary PATH, install the clusterup package (it ships /usr/lib/clusterup/clusterup-vrrpd), build it with scripts/build-vrrpd, or set vrrp.backend: keepalived")
    }

    /// Where to look, in order. Everything implicit is relative to the running program's real
    /// file (`/proc/self/exe`), never to `argv[0]`: run from PATH, argv[0] is a bare name and the
    /// search would start in the current directory, where anyone may have left a file.
    static func candidates(explicit: String?, environment: String?, executable: String?) -> [String] {
        var candidates: [String] = []
        func add(_ path: String) {
            let normal = URL(fileURLWithPath: path).standardizedFileURL.path
            if !candidates.contains(normal) { candidates.append(normal) }
        }
        if let explicit { add(explicit) }
        if let environment, !environment.isEmpty { add(environment) }
        guard let executable, executable.hasPrefix("/") else { return candidates }
        let dir = URL(fileURLWithPath: executable).deletingLastPathComponent()
        add(dir.appendingPathComponent("clusterup-vrrpd").path)                       // tarball: side by side
        add(dir.deletingLastPathComponent().appendingPathComponent("lib/clusterup/clusterup-vrrpd").path) // package: /usr/bin -> /usr/lib
        // A source build: .build/<triple>/debug/clusterup, with scripts/build-vrrpd's static build
        // in .build/dist and SwiftPM's own in .build/<triple>/release.
        guard executable.contains("/.build/") else { return candidates }
        add(dir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("dist/clusterup-vrrpd").path)
        add(dir.deletingLastPathComponent().appendingPathComponent("release/clusterup-vrrpd").path)
        return candidates
    }

    /// The running program's own file, symlinks resolved by the kernel.
    static func runningExecutable() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    /// Refuses a binary that a user other than root or us could change: writable by group or
    /// others, owned by someone else, or in a directory where others may rename files.
    static func refuseIfReplaceable(_ path: String) throws {
        if let problem = replaceability(path) {
            throw ClusterupError.badInput(
                "refusing \(path): \(problem); it would be run as root on every lb host",
                hint: "chmod go-w the file and its directory (or pass --vrrpd-binary with a file only you and root can write)")
        }
    }

    static func replaceability(_ path: String) -> String? {
        var file = stat(), directory = stat()
        guard stat(path, &file) == 0 else { return "it cannot be read" }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard stat(parent, &directory) == 0 else { return "its directory cannot be read" }
        return replaceability(file: (owner: file.st_uid, mode: file.st_mode), directory: (owner: directory.st_uid, mode: directory.st_mode), user: geteuid())
    }

    /// Pure: the rule, on owners and modes.
    static func replaceability(file: (owner: uid_t, mode: mode_t), directory: (owner: uid_t, mode: mode_t), user: uid_t) -> String? {
        if file.owner != 0 && file.owner != user { return "it belongs to uid \(file.owner)" }
        if file.mode & 0o022 != 0 { return "it is writable by group or others (mode \(String(file.mode & 0o7777, radix: 8)))" }
        if directory.owner != 0 && directory.owner != user { return "its directory belongs to uid \(directory.owner)" }
        let sticky = directory.mode & 0o1000 != 0
        if directory.mode & 0o022 != 0 && !sticky {
            return "its directory is writable by group or others (mode \(String(directory.mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// A binary built with --static-swift-stdlib names no libswiftCore.so among its libraries.
    static func isStatic(_ path: String) -> Bool {
        guard let needed = ELFFile.neededLibraries(path) else { return false }
        return !needed.contains { $0.hasPrefix("libswift") || $0.hasPrefix("libFoundation") }
    }
}
