import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One image in the cache: a Debian root made with debootstrap.
public struct CachedImage: Codable, Sendable, Equatable {
    public var name: String
    public var release: String?
    /// `lab node` (lab nodes of a release other than the host's) or `package test` (scripts/pkgtest-image).
    public var purpose: String
    public var path: String
    /// `.complete` is there: the build finished. An incomplete one is rebuilt at its next use.
    public var complete: Bool
    public var sizeBytes: Int64?
    /// When the build finished (the `.complete` marker's time).
    public var builtAt: Date?
    /// Mounts that have it as their lower layer (running lab nodes, package tests).
    public var usedBy: [String]
}

/// The cache of Debian roots under /var/cache/clusterup-lab/images, shared with
/// scripts/pkgtest-image: one directory per image (`<release>-node`, `<release>-pkgtest`), built
/// in a staging directory under the lock `.<name>.lock` and moved into place with a `.complete`
/// marker written last, so parallel builders wait for one build and a killed build is redone.
/// Nothing here is removed by `lab down`: only `lab images remove` removes an image.
public struct ImageCache: Sendable {
    public static let defaultDirectory = "/var/cache/clusterup-lab/images"
    public static let mirror = "http://deb.debian.org/debian"
    static let completeMarker = ".complete"

    public let directory: String
    let commands = HostCommands()
    let system = HostSystem()

    /// `CLUSTERUP_IMAGE_CACHE` moves the cache, as for scripts/pkgtest-image.
    public init(directory: String? = nil) {
        self.directory = directory ?? ProcessInfo.processInfo.environment["CLUSTERUP_IMAGE_CACHE"] ?? Self.defaultDirectory
    }

    /// Building (debootstrap, chroot) and removing need root.
    public static func requireRoot() throws {
        guard geteuid() == 0 else {
            throw ClusterupError.badInput("building or removing lab images needs root (debootstrap, chroot)",
                                          hint: "run it as root, for example `sudo clusterup lab images build trixie`")
        }
    }

    public static func nodeImageName(_ release: DebianRelease) -> String { "\(release.rawValue)-node" }

    public func path(of name: String) -> String { "\(directory)/\(name)" }

    /// What a lab node runs beyond minbase: its init and login path (systemd, dbus and logind for
    /// pam_systemd, sshd, sudo), what deploy installs or calls (etcd-server, etcd-client, haproxy,
    /// keepalived, nftables, iproute2, openssl, curl for health checks and status, procps, socat
    /// for HAProxy's runtime API), and python3 for the stand-ins. The nodes reach no mirror, so deploy must find these installed.
    public static let nodePackages = [
        "systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "sudo",
        "etcd-server", "etcd-client", "haproxy", "keepalived", "nftables", "iproute2", "openssl", "curl",
        "procps", "python3", "socat",
    ]

    /// debootstrap's command line for a node image of `release` into `target`.
    public static func debootstrapArguments(_ release: DebianRelease, target: String) -> [String] {
        [
            "--variant=minbase", "--include=\(nodePackages.joined(separator: ","))",
            "--keyring=/usr/share/keyrings/debian-archive-\(release.rawValue)-stable.gpg",
            release.rawValue, target, mirror,
        ]
    }

    // MARK: - list

    public func list() -> [CachedImage] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let mountinfo = system.readFile("/proc/self/mountinfo") ?? ""
        return names.compactMap { name -> CachedImage? in
            let path = path(of: name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            let marker = try? FileManager.default.attributesOfItem(atPath: "\(path)/\(Self.completeMarker)")
            let (release, purpose) = Self.describe(name)
            return CachedImage(name: name, release: release?.rawValue, purpose: purpose, path: path,
                               complete: marker != nil, sizeBytes: size(of: path),
                               builtAt: marker?[.modificationDate] as? Date,
                               usedBy: Self.overlaysUsing(path, mountinfo: mountinfo))
        }
    }

    /// Release and purpose from an image's name (`trixie-node`, `bookworm-pkgtest`).
    static func describe(_ name: String) -> (DebianRelease?, String) {
        let parts = name.split(separator: "-", maxSplits: 1).map(String.init)
        let release = parts.first.flatMap(DebianRelease.init(rawValue:))
        switch parts.count == 2 ? parts[1] : "" {
        case "node": return (release, "lab node")
        case "pkgtest": return (release, "package test")
        default: return (release, "unknown")
        }
    }

    /// Mount points of overlays that have `path` as (one of) their lower layers, from mountinfo text.
    static func overlaysUsing(_ path: String, mountinfo: String) -> [String] {
        mountinfo.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count >= 8, let dash = fields[6...].firstIndex(of: "-"), dash + 3 < fields.count,
                  fields[dash + 1] == "overlay" else { return nil }
            let options = fields[dash + 3].split(separator: ",")
            guard let lower = options.first(where: { $0.hasPrefix("lowerdir=") }) else { return nil }
            let layers = lower.dropFirst("lowerdir=".count).split(separator: ":").map { ProcFS.unescape(String($0)) }
            return layers.contains(path) ? ProcFS.unescape(String(fields[4])) : nil
        }
    }

    private func size(of path: String) -> Int64? {
        guard let output = try? commands.check("du", ["-s", "-x", "--block-size=1", path], what: "measuring \(path)"),
              let first = output.split(whereSeparator: { $0 == "\t" || $0 == " " }).first else { return nil }
        return Int64(first)
    }

    // MARK: - build

    public func isBuilt(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(path(of: name))/\(Self.completeMarker)")
    }

    /// The `.complete` marker of a node image: what it was built with.
    static func marker(_ release: DebianRelease) -> String {
        "release=\(release.rawValue)\npackages=\(nodePackages.joined(separator: " "))\n"
    }

    /// A node image is current when it was built with today's package list: one built before a
    /// package was added (deploy needs socat since HAProxy's runtime API) is built again.
    public func isCurrentNodeImage(_ release: DebianRelease) -> Bool {
        system.readFile("\(path(of: Self.nodeImageName(release)))/\(Self.completeMarker)") == Self.marker(release)
    }

    /// The node image of `release`, built first if missing or built with another package list
    /// (debootstrap from Debian's mirror, a few minutes). Returns its path. Another process
    /// building the same image is waited for.
    public func nodeImage(_ release: DebianRelease, progress: @escaping @Sendable (String) -> Void) throws -> String {
        let name = Self.nodeImageName(release)
        let target = path(of: name)
        if isCurrentNodeImage(release) { return target }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o755])
        return try withLock(name, waiting: { progress("waiting for another process building image \(name)") }) {
            if isCurrentNodeImage(release) { return target }
            let why = isBuilt(name) ? "its package list changed" : "made once, kept in \(directory)"
            progress("building image \(name) (\(release.title), debootstrap from \(Self.mirror)); \(why)")
            let started = Date()
            try build(release, name: name, target: target)
            progress(String(format: "image %@ built in %.0f s", name, Date().timeIntervalSince(started)))
            return target
        }
    }

    private func build(_ release: DebianRelease, name: String, target: String) throws {
        _ = try HostCommands.locate("debootstrap")
        var template = Array("\(directory)/.\(name).XXXXXX".utf8CString)
        guard let staging = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            throw ClusterupError.local("cannot make a staging directory in \(directory): \(String(cString: strerror(errno)))")
        }
        defer { _ = system.removeTree(staging) }
        // apt inside drops to _apt, which must reach its lists (mkdtemp makes 0700).
        chmod(staging, 0o755)
        let result = try commands.run("debootstrap", Self.debootstrapArguments(release, target: staging))
        guard result.status == 0 else {
            let log = "\(directory)/.\(name).failed.log"
            let text = (system.readFile("\(staging)/debootstrap/debootstrap.log") ?? "") + result.stdout + result.stderr
            try? text.write(toFile: log, atomically: true, encoding: .utf8)
            let lastLines = result.stderr.split(separator: "\n").suffix(5).joined(separator: "\n  ")
            throw ClusterupError.local("debootstrap of \(release.title) exited \(result.status):\n  \(lastLines)",
                                       hint: "its log is in \(log); it needs \(Self.mirror) reachable from this machine")
        }
        // The nodes reach no mirror: package lists and downloaded .debs only take space.
        _ = try commands.run("chroot", [staging, "apt-get", "clean"])
        _ = system.removeTree("\(staging)/var/lib/apt/lists")
        try FileManager.default.createDirectory(atPath: "\(staging)/var/lib/apt/lists/partial", withIntermediateDirectories: true)
        try Self.marker(release).write(toFile: "\(staging)/\(Self.completeMarker)", atomically: true, encoding: .utf8)
        // An older image moves aside rather than going: running nodes keep it as their lower
        // layer (an overlay holds its directory, not its path). Stale ones no mount uses go.
        if FileManager.default.fileExists(atPath: target) {
            let stale = "\(directory)/.\(name).stale-\(Int(Date().timeIntervalSince1970))"
            guard rename(target, stale) == 0 else {
                throw ClusterupError.local("cannot move the old image \(target) aside: \(String(cString: strerror(errno)))")
            }
        }
        removeUnusedStaleImages(name)
        guard rename(staging, target) == 0 else {
            throw ClusterupError.local("cannot move \(staging) to \(target): \(String(cString: strerror(errno)))")
        }
    }

    /// Old images of `name` moved aside by a rebuild, removed once no overlay has them below it.
    private func removeUnusedStaleImages(_ name: String) {
        let mountinfo = system.readFile("/proc/self/mountinfo") ?? ""
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for entry in entries where entry.hasPrefix(".\(name).stale-") {
            let path = "\(directory)/\(entry)"
            if Self.overlaysUsing(path, mountinfo: mountinfo).isEmpty { _ = system.removeTree(path) }
        }
    }

    // MARK: - remove

    /// Removes a complete or unfinished image; refuses while an overlay uses it or a build holds its lock.
    public func remove(_ name: String, dryRun: Bool = false) throws -> CachedImage {
        guard let image = list().first(where: { $0.name == name }) else {
            let known = list().map(\.name)
            throw ClusterupError.badInput("no image named \(name) in \(directory)", at: name,
                                          hint: known.isEmpty ? "the cache is empty" : "images: \(known.joined(separator: ", "))")
        }
        guard image.usedBy.isEmpty else {
            throw ClusterupError.badInput(
                "image \(name) is in use as the lower layer of \(image.usedBy.joined(separator: ", "))", at: name,
                hint: "remove the labs using it first (`clusterup lab down --name NAME`)")
        }
        if dryRun { return image }
        try withLock(name, waiting: nil) {
            let kept = system.removeTree(image.path)
            guard kept.isEmpty else {
                throw ClusterupError.local("could not remove all of \(image.path): \(kept.prefix(3).joined(separator: ", "))")
            }
        }
        return image
    }

    /// Runs `body` holding the image's lock (the same lock file scripts/pkgtest-image takes).
    /// `waiting` nil: fail at once when another process holds it.
    private func withLock<T>(_ name: String, waiting: (() -> Void)?, _ body: () throws -> T) throws -> T {
        let lockPath = "\(directory)/.\(name).lock"
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ClusterupError.local("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard let waiting else {
                throw ClusterupError.badInput("image \(name) is being built by another process", at: lockPath,
                                              hint: "try again once that build has finished")
            }
            waiting()
            flock(fd, LOCK_EX)
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
