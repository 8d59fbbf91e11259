import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupRollout
import ClusterupSSH
import Foundation

extension Clusterup {
    /// `clusterup deploy [INVENTORY]`: bare nodes to an HA control plane, idempotently.
    struct DeployCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Deploy (or converge) the VIP, HAProxy, PKI, etcd and control plane.",
            discussion: """
            Phases: connect → preflight → lock → versions → artifacts → pki → plan → write files → etcd → control plane → load balancer → record version → post-deploy checks. Each host gets only what its roles need; a re-run with an unchanged inventory changes nothing and says so; a version change (a declared version a host does not run) is refused and left to `clusterup upgrade`; a changed setting changes only what depends on it, restarting affected services one host at a time (etcd and apiservers stay available: a running apiserver is drained from every HAProxy before its restart and taken back once ready). Each host changed gets /etc/clusterup/last-deploy: which clusterup changed it, when and who ran it (`status` shows it). --dry-run prints per host what would change (file diffs, services to restart, etcd membership changes) and changes nothing.

            A second deploy while one runs is refused, naming who holds the lock. On failure the report names host, phase, command and its stderr; re-running resumes. Ctrl-C stops after the current step and releases the lock.

            Examples:
              clusterup deploy                         # ./inventory.yml
              clusterup deploy lab.yml --dry-run
              clusterup deploy --output json | jq .changes
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Show what would change on each host and change nothing.")
        var dryRun = false

        @Flag(help: ArgumentHelp(
            "Deploy the hosts that answer and leave out those that cannot be reached.",
            discussion: "Without it, an unreachable host stops deploy before anything changes. With it, nothing on those hosts is changed and nothing that needs them is done (no etcd member is added for them; a new etcd cluster is not started without them); they still count in the other hosts' configuration."))
        var skipUnreachable = false

        @Option(help: "Seconds to wait for a service to become healthy after (re)starting it.")
        var healthTimeout: Int = 90

        @Option(help: ArgumentHelp(
            "The clusterup-vrrpd binary to install on lb hosts (statically linked).",
            discussion: "Default: artifacts.clusterup-vrrpd in the inventory, $CLUSTERUP_VRRPD, or clusterup-vrrpd beside this program."))
        var vrrpdBinary: String?

        func run() async throws {
            let loaded = try inventory.load()
            if !inventory.hostNames.isEmpty || !inventory.roleNames.isEmpty {
                throw ValidationError("deploy works on the whole inventory; --hosts and --roles are for exec and check")
            }
            try await Self.deploy(loaded, ssh: ssh, output: output, concurrency: fanOut.concurrency, dryRun: dryRun,
                                  healthTimeout: healthTimeout, vrrpdBinary: vrrpdBinary, skipUnreachable: skipUnreachable)
        }

        /// A whole deploy as the command runs it; `etcd recover` runs it too, to re-add members.
        static func deploy(
            _ loaded: Inventory, ssh: SSHOptions, output: OutputOptions, concurrency: Int, dryRun: Bool, healthTimeout: Int, vrrpdBinary: String?,
            skipUnreachable: Bool = false, jsonSink: (@Sendable (JSONValue) -> Void)? = nil
        ) async throws {
            var settings = loaded.deploy
            let vrrpdNote = try VRRPDaemonBinary.defaultArtifact(into: &settings, inventory: loaded, explicit: vrrpdBinary)
                .map { "clusterup-vrrpd: \($0.path) (sha256 \($0.sha256))" }
            var options = DeployOptions(cacheDirectory: Self.cacheDirectory())
            options.dryRun = dryRun
            options.build = .current
            options.concurrency = concurrency
            options.acceptNewHostKeys = ssh.acceptNewHostKeys
            options.healthTimeout = .seconds(healthTimeout)
            options.skipUnreachable = skipUnreachable
            // Running apiservers restart drained from every HAProxy (the rollout's BackendDrain).
            options.apiserverRestartGuard = DrainedRestarts(socat: settings.artifact("socat")?.path ?? "socat")
            let renderer = DeployRenderer(json: output.isJSON, live: output.progressMode, jsonSink: jsonSink)
            let session = DeploySession(
                inventory: loaded, settings: settings, options: options, connector: try ssh.connector(for: loaded),
                emit: renderer.handle)

            if let vrrpdNote { renderer.handle(.note(host: nil, vrrpdNote)) }
            let task = Task { try await Deploy.run(session) }
            let interrupt = InterruptHandler { task.cancel() }
            defer { interrupt.remove() }
            do {
                let report = try await task.value
                renderer.finish(report: report, dryRun: dryRun, error: nil)
            } catch let failure as DeployFailure {
                renderer.finish(report: nil, dryRun: dryRun, error: failure.description)
                throw ExitCode(1)
            } catch is CancellationError {
                renderer.finish(report: nil, dryRun: dryRun, error: "interrupted: the current step finished on every host and the deploy lock was released; re-run deploy to continue")
                throw ExitCode(130)
            }
        }

        static func cacheDirectory() -> String {
            let env = ProcessInfo.processInfo.environment
            let base = env["XDG_CACHE_HOME"] ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.cache")
            return base + "/clusterup/artifacts"
        }
    }
}

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

/// Just enough ELF64 (little-endian) to list a program's DT_NEEDED libraries without reading the
/// whole file: the header, the program headers, the dynamic segment and the strings it names.
enum ELFFile {
    static func neededLibraries(_ path: String) -> [String]? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count),
                  data.count == count else { return nil }
            return [UInt8](data)
        }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        guard let header = read(0, 64), header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2, header[5] == 1 else { return nil }
        let phoff = u64(header, 32), phentsize = u16(header, 54), phnum = u16(header, 56)
        guard let table = read(phoff, phentsize * phnum) else { return nil }
        var loads: [(vaddr: UInt64, offset: UInt64, size: UInt64)] = []
        var dynamic: (offset: UInt64, size: UInt64)?
        for i in 0..<phnum {
            let at = i * phentsize
            let type = u32(table, at)
            if type == 1 { loads.append((u64(table, at + 16), u64(table, at + 8), u64(table, at + 32))) }
            if type == 2 { dynamic = (u64(table, at + 8), u64(table, at + 32)) }
        }
        guard let dynamic else { return [] }  // no dynamic segment: fully static
        guard let entries = read(dynamic.offset, Int(dynamic.size)) else { return nil }
        var needed: [UInt64] = []
        var strtab: UInt64?
        for at in stride(from: 0, to: entries.count - 15, by: 16) {
            let tag = u64(entries, at), value = u64(entries, at + 8)
            if tag == 0 { break }
            if tag == 1 { needed.append(value) }
            if tag == 5 { strtab = value }
        }
        guard let strtab, let segment = loads.first(where: { strtab >= $0.vaddr && strtab < $0.vaddr + $0.size }) else { return nil }
        let base = segment.offset + (strtab - segment.vaddr)
        return needed.compactMap { offset in
            guard let bytes = read(base + offset, 256), let end = bytes.firstIndex(of: 0) else { return nil }
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}

/// Ctrl-C cancels the deploy task instead of killing the process, so the lock is released.
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal

    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            printError("\ninterrupt: finishing the current step, then releasing the lock (Ctrl-C again is ignored)")
            handler()
        }
        source.resume()
    }

    func remove() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
