import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Does the lab's work, blocking. Always called on a dedicated thread (see `Lab`).
final class LabController: Sendable {
    let paths: LabPaths
    let commands = HostCommands()
    let system = HostSystem()
    let progress: @Sendable (String) -> Void
    var cgroups: NodeCgroups { NodeCgroups(commands: commands, system: system) }

    /// Name of the tmpfs put on /run/systemd/nspawn when that is not a tmpfs already (see
    /// `ensureNspawnRuntime`); recognised by this source name so only ours is ever unmounted.
    static let nspawnRuntimeSource = "clusterup-nspawn"
    static let nspawnRuntime = "/run/systemd/nspawn"

    init(paths: LabPaths, progress: @escaping @Sendable (String) -> Void) {
        self.paths = paths
        self.progress = progress
    }

    static func requireRoot() throws {
        guard geteuid() == 0 else {
            throw ClusterupError.badInput(
                "`clusterup lab` needs root: it mounts overlays, creates a bridge and boots systemd-nspawn nodes",
                hint: "run it as root, for example `sudo clusterup lab up`")
        }
    }

    static func requireTools() throws {
        for tool in ["ip", "mount", "umount", "ssh-keygen", "systemd-nspawn", "sshd"] {
            _ = try HostCommands.locate(tool)
        }
    }

    // MARK: - up

    func up(nodeCount: Int, release: DebianRelease?, bootTimeout: Double?, blockWait: Double = 0) throws -> LabState {
        try AddressPlan.validateNodeCount(nodeCount)
        // Before taking an address block: a first build of an image takes minutes.
        let base = try nodeBase(release)
        if hasLeftovers() {
            progress("lab \(paths.name): removing leftovers of an earlier lab of this name")
            _ = try down()
        }
        let store = try allocate(waitingUpTo: blockWait)
        do {
            return try build(store, nodeCount: nodeCount, base: base, bootTimeout: bootTimeout)
        } catch {
            throw halfBuilt(error)
        }
    }

    /// An error of a half-built lab, saying what state it is left in and how to remove it.
    func halfBuilt(_ error: Error) -> ClusterupError {
        let state = "lab \(paths.name) is left half-built (recorded in \(paths.stateFile), logs in \(paths.logDirectory))"
        let removal = "`clusterup lab down --name \(paths.name)` removes it"
        guard var failure = error as? ClusterupError else {
            return ClusterupError.local("\(error)", hint: "\(state); \(removal)")
        }
        failure.hint = [failure.hint, "\(state); \(removal)"].compactMap { $0 }.joined(separator: "\n  hint: ")
        return failure
    }

    private func build(_ store: StateStore, nodeCount: Int, base: ResolvedBase, bootTimeout: Double?) throws -> LabState {
        let plan = try store.state.plan
        progress("lab \(paths.name): bridge \(paths.name.bridge), \(plan.network), VIP \(plan.vipAddress)")

        try ensureNspawnRuntime()
        try ensureInotifyLimits()
        try createLayers(store)
        try createLabKey()
        try createBridge(store, plan: plan)

        try store.update { state in
            state.nodes = (1...nodeCount).map { base.apply(to: paths.node($0, plan: plan)) }
        }
        try prepare(store.state.nodes, store: store)
        try writeClientFiles(store.state)
        try boot(store.state.nodes, store: store, timeout: bootTimeout ?? Self.bootTimeout(nodes: nodeCount))
        try store.update { $0.phase = .ready }
        return store.state
    }

    /// A node's release and lower layer, resolved once per `up` or `grow`.
    struct ResolvedBase {
        var release: DebianRelease?
        /// nil: this machine's root.
        var image: String?

        func apply(to node: LabNode) -> LabNode {
            var node = node
            node.release = release
            node.lowerDirectory = image
            return node
        }
    }

    /// The host's root for its own release, or the cached image of another (built if missing).
    func nodeBase(_ requested: DebianRelease?) throws -> ResolvedBase {
        let host = system.readFile("/etc/os-release").flatMap(DebianRelease.fromOSRelease)
        switch NodeBase.choose(requested: requested, host: host) {
        case .hostRoot:
            return ResolvedBase(release: host, image: nil)
        case .image(let release):
            return ResolvedBase(release: release, image: try ImageCache().nodeImage(release, progress: progress))
        }
    }

    /// Booting shares two cores: allow more time for more nodes.
    static func bootTimeout(nodes: Int) -> Double { 60 + 3 * Double(nodes) }

    /// Allocates, waiting up to `seconds` while all blocks are taken; then fails naming their owners.
    private func allocate(waitingUpTo seconds: Double) throws -> StateStore {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            switch try allocate() {
            case .allocated(let store):
                return store
            case .full(let used):
                guard Date() < deadline else { throw AddressPlan.exhausted(used: used) }
                usleep(500_000)
            }
        }
    }

    private enum Allocation {
        case allocated(StateStore)
        /// Every block is taken: by whom.
        case full([Int: String])
    }

    /// Picks a free address block and records the new lab, under a lock so two `lab up` runs cannot
    /// take the same block.
    private func allocate() throws -> Allocation {
        try FileManager.default.createDirectory(atPath: paths.root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let lockFD = open("\(paths.root)/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw ClusterupError.local("cannot open \(paths.root)/.lock") }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }

        var used: [Int: String] = [:]
        for other in otherLabs() {
            used[other.block] = "lab \(other.name)"
            let clash = Set(other.nodes.map(\.machine)).intersection((1...AddressPlan.maxNodes).map { paths.name.machineName(node: $0) })
            if let machine = clash.first {
                throw ClusterupError.badInput(
                    "lab \(paths.name) would reuse machine name \(machine) of lab \(other.name)", at: "--name",
                    hint: "choose a name of at most 8 characters, or another name")
            }
        }
        for (link, address) in hostAddresses() {
            if let block = AddressPlan.block(containing: address), used[block] == nil {
                used[block] = "address \(address) on \(link)"
            }
        }
        guard used.count < AddressPlan.blockCount else { return .full(used) }
        let plan = try AddressPlan.firstFreeBlock(used: used)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let store = StateStore(LabState(name: paths.name, plan: plan, createdAt: Date()), paths: paths)
        try store.update { _ in }
        return .allocated(store)
    }

    /// Every other lab recorded under the same root.
    func otherLabs() -> [LabState] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: paths.root)) ?? []
        return names.filter { $0 != paths.name.value }.compactMap { name in
            guard let labName = try? LabName(name) else { return nil }
            return try? StateStore.load(LabPaths(name: labName, root: paths.root))
        }
    }

    /// IPv4 addresses on host links, from `ip -o -4 addr show`.
    private func hostAddresses() -> [(String, String)] {
        guard let output = try? commands.check("ip", ["-o", "-4", "addr", "show"], what: "listing addresses") else {
            return []
        }
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 4, let inet = fields.firstIndex(of: "inet"), inet + 1 < fields.count else { return nil }
            let address = fields[inet + 1].split(separator: "/").first.map(String.init) ?? ""
            return (String(fields[1]), address)
        }
    }

    /// nspawn keeps per-machine directories under /run/systemd/nspawn and refuses to remove them
    /// unless they are on a tmpfs. Hosts without systemd may have /run on disk: give nspawn a tmpfs.
    private func ensureNspawnRuntime() throws {
        let runtime = Self.nspawnRuntime
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        if ["tmpfs", "ramfs"].contains(Self.fileSystemType(containing: runtime, mounts: system.mounts())) { return }
        progress("mounting a tmpfs on \(runtime) (systemd-nspawn needs it; /run is not a tmpfs here)")
        try commands.check("mount", ["-t", "tmpfs", "-o", "mode=0755,size=16m", Self.nspawnRuntimeSource, runtime],
                           what: "mounting \(runtime)")
    }

    /// Each node's systemd, journald, networkd, logind... take inotify instances and watches of the
    /// same user (root); the kernel's default of 128 instances for all of root stops PID 1 of about
    /// the 20th node ("Too many open files"). Raised once, only upwards, and left raised (limits, not
    /// resources).
    static let inotifyLimits = [
        ("fs.inotify.max_user_instances", 8192),
        ("fs.inotify.max_user_watches", 524_288),
    ]

    func ensureInotifyLimits() throws {
        for (name, wanted) in Self.inotifyLimits {
            let path = "/proc/sys/" + name.replacingOccurrences(of: ".", with: "/")
            guard let text = system.readFile(path), let current = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  current < wanted else { continue }
            progress("raising \(name) from \(current) to \(wanted) (every node's systemd needs some)")
            do {
                try Data("\(wanted)\n".utf8).write(to: URL(fileURLWithPath: path))
            } catch {
                throw ClusterupError.local("cannot raise \(name): \(error)", hint: "run `sysctl \(name)=\(wanted)`")
            }
        }
    }

    /// The type of the filesystem a path is on: the mount with the longest mount point above it.
    static func fileSystemType(containing path: String, mounts: [ProcFS.Mount]) -> String? {
        mounts.filter { path == $0.mountPoint || path.hasPrefix($0.mountPoint == "/" ? "/" : $0.mountPoint + "/") }
            .max { $0.mountPoint.count < $1.mountPoint.count }?.fileSystemType
    }

    private func createLayers(_ store: StateStore) throws {
        let fileManager = FileManager.default
        for directory in [paths.logDirectory, paths.layers, paths.nodesDirectory] {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
        }
        try commands.check("mount", ["-t", "tmpfs", "-o", "mode=0700", "clusterup-lab-\(paths.name)", paths.layers],
                           what: "mounting the lab's tmpfs")
        try store.update { $0.mounts.append(paths.layers) }
    }

    private func createLabKey() throws {
        try? FileManager.default.removeItem(atPath: paths.privateKey)
        try? FileManager.default.removeItem(atPath: paths.publicKey)
        try commands.check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "clusterup-lab-\(paths.name)",
                                          "-f", paths.privateKey], what: "making the lab's SSH key")
        chmod(paths.privateKey, 0o600)
    }

    private func createBridge(_ store: StateStore, plan: AddressPlan) throws {
        let bridge = paths.name.bridge
        try commands.check("ip", ["link", "add", bridge, "type", "bridge"], what: "creating bridge \(bridge)")
        try store.update { $0.links.append(bridge) }
        try commands.check("ip", ["addr", "add", "\(plan.hostAddress)/\(AddressPlan.prefixLength)", "dev", bridge],
                           what: "addressing bridge \(bridge)")
        try commands.check("ip", ["link", "set", bridge, "up"], what: "bringing up bridge \(bridge)")
    }

    /// Mounts and personalizes nodes in parallel.
    func prepare(_ nodes: [LabNode], store: StateStore) throws {
        guard let labKey = try? String(contentsOfFile: paths.publicKey, encoding: .utf8) else {
            throw ClusterupError.local("cannot read the lab's public key", at: paths.publicKey)
        }
        let hosts = LabFiles.hosts(state: store.state)
        let commands = self.commands, system = self.system
        let results = Blocking.forEach(nodes) { node in
            try Self.mountOverlay(node, commands: commands)
            try store.update { $0.mounts.append(node.rootDirectory) }
            let image = NodeImage(node: node, commands: commands, system: system)
            let hostKey = try image.personalize(labPublicKey: labKey, hosts: hosts)
            try store.updateNode(node.index) { $0.hostKey = hostKey }
        }
        try Self.firstFailure(results)
    }

    static func mountOverlay(_ node: LabNode, commands: HostCommands) throws {
        let fileManager = FileManager.default
        for directory in [node.upperDirectory, node.workDirectory, node.rootDirectory] {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o755])
        }
        try hideHostSecrets(upper: node.upperDirectory, lower: node.lower)
        try commands.check(
            "mount", ["-t", "overlay", "overlay", "-o",
                      "lowerdir=\(node.lower),upperdir=\(node.upperDirectory),workdir=\(node.workDirectory)", node.rootDirectory],
            what: "\(node.name): mounting its overlay")
        try recreateHiddenDirectories(root: node.rootDirectory)
    }

    /// Nodes see the host's disk through the overlay. What no node may read is taken out of its
    /// view in the upper layer before the overlay is mounted (overlayfs whiteouts and opaque
    /// directories): every lab's state (private keys) under /var/lib/clusterup, the host's users'
    /// homes and root's (keys, shells' history, caches), and the password hashes. A node over an
    /// image gets the same treatment of the image's files, so every node starts alike.
    static func hideHostSecrets(upper: String, lower: String = "/") throws {
        try whiteout("\(upper)/var/lib/clusterup")
        // Whited out here; `recreateHiddenDirectories` makes them anew in the mounted node, where
        // overlayfs marks a directory created over a whiteout opaque: the host's files stay hidden.
        for directory in hiddenDirectories.keys { try whiteout("\(upper)/\(directory)") }
        for file in ["shadow", "gshadow"] {
            let original = (lower as NSString).appendingPathComponent("etc/\(file)")
            guard let text = try? String(contentsOfFile: original, encoding: .utf8) else { continue }
            let path = "\(upper)/etc/\(file)"
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            try FileManager.default.createDirectory(atPath: "\(upper)/etc", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            try LabFiles.withoutPasswords(text).write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o640)
            var owner = stat()
            if stat(original, &owner) == 0 { chown(path, owner.st_uid, owner.st_gid) }
        }
    }

    static let hiddenDirectories: [String: Int] = ["root": 0o700, "home": 0o755]

    static func recreateHiddenDirectories(root: String) throws {
        for (directory, mode) in hiddenDirectories {
            let path = "\(root)/\(directory)"
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: mode])
        }
    }

    /// A character device 0/0 in the upper layer: the path does not exist in the node.
    static func whiteout(_ path: String) throws {
        var existing = stat()
        guard lstat(path, &existing) != 0 else { return }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        guard mknod(path, S_IFCHR, 0) == 0 else {
            throw ClusterupError.local("cannot hide \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func firstFailure<T>(_ results: [Result<T, Error>]) throws {
        let failures = results.compactMap { result -> Error? in
            if case .failure(let error) = result { return error }
            return nil
        }
        guard let first = failures.first else { return }
        if failures.count == 1 { throw first }
        let lines = failures.map { "  \($0)" }.joined(separator: "\n")
        throw ClusterupError.local("\(failures.count) nodes failed:\n\(lines)")
    }

    func writeClientFiles(_ state: LabState) throws {
        try writeFile(paths.knownHosts, LabFiles.knownHosts(state: state), mode: 0o644)
        try writeFile(paths.inventory, try LabFiles.inventory(state: state, paths: paths), mode: 0o644)
        try FileManager.default.createDirectory(atPath: paths.standins, withIntermediateDirectories: true)
        for (name, text) in LabFiles.standins {
            try writeFile("\(paths.standins)/\(name)", text, mode: 0o755)
        }
    }

    // MARK: - boot and stop

    /// Starts every node's systemd-nspawn at once, records its pids, and waits until each sshd answers.
    func boot(_ nodes: [LabNode], store: StateStore, timeout: Double) throws {
        let started = Date()
        var launched: [Int: RecordedProcess] = [:]
        for node in nodes {
            // nspawn starts in the node's own control groups (see NodeCgroups), through /bin/sh
            // which joins them and execs it: the pid stays the one recorded.
            let procsFiles = try cgroups.prepare(machine: node.machine)
            let pid = try commands.spawn("/bin/sh", ["-c", NodeCgroups.joinThenExec(procsFiles), "sh",
                                                     try HostCommands.locate("systemd-nspawn")] + nspawnArguments(node),
                                         environment: Self.nspawnEnvironment(node), logFile: node.logFile)
            guard let process = system.recorded(pid) else {
                throw ClusterupError.local("systemd-nspawn exited at once", at: node.name,
                                           hint: "see its log: \(node.logFile)")
            }
            launched[node.index] = process
            try store.updateNode(node.index) { $0.nspawn = process; $0.initProcess = nil }
        }
        progress("lab \(paths.name): booting \(nodes.count) node(s)")
        try recordInits(nodes, launched: launched, store: store, deadline: started.addingTimeInterval(timeout))
        let system = self.system, processes = launched
        let deadline = started.addingTimeInterval(timeout)
        let results = Blocking.forEach(nodes, width: 64) { node in
            try Self.waitForSSH(node, nspawn: processes[node.index]!, system: system, deadline: deadline, timeout: timeout)
        }
        try Self.firstFailure(results)
        progress(String(format: "lab \(paths.name): %d node(s) answer SSH after %.1f s", nodes.count,
                        Date().timeIntervalSince(started)))
    }

    func nspawnArguments(_ node: LabNode) -> [String] {
        [
            "--quiet", "--directory=\(node.rootDirectory)", "--boot", "--machine=\(node.machine)",
            // No machined/system bus on this host: don't register, and keep our own cgroup.
            "--register=no", "--keep-unit",
            "--network-bridge=\(paths.name.bridge)",
            "--console=read-only",
            // Services such as HAProxy raise their descriptor limit as on a real host.
            "--rlimit=RLIMIT_NOFILE=1048576",
        ]
    }

    /// systemd 257 on cgroup v1 (this hybrid host) runs "tainted: cgroupsv1": give such nodes cgroup2.
    static func nspawnEnvironment(_ node: LabNode) -> [String: String] {
        node.release?.needsUnifiedCgroup == true ? ["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"] : [:]
    }

    /// Finds each node's init (systemd, PID 1 inside): the child of its nspawn once it has exec'd.
    private func recordInits(_ nodes: [LabNode], launched: [Int: RecordedProcess], store: StateStore,
                             deadline: Date) throws {
        var missing = Dictionary(uniqueKeysWithValues: nodes.map { ($0.index, $0) })
        while !missing.isEmpty {
            let processes = system.allProcesses()
            for (index, node) in missing {
                guard let nspawn = launched[index] else { continue }
                if let child = processes.first(where: { $0.parent == nspawn.pid && $0.command == "systemd" }) {
                    let initProcess = RecordedProcess(pid: child.pid, startTime: child.startTime)
                    try store.updateNode(index) { $0.initProcess = initProcess }
                    missing[index] = nil
                } else if !system.isAlive(nspawn) {
                    throw ClusterupError.local(
                        "systemd-nspawn exited before the node's init started", at: node.name,
                        hint: "see its log: \(node.logFile)")
                }
            }
            if missing.isEmpty { break }
            if Date() > deadline {
                let names = missing.values.map(\.name).sorted().joined(separator: ", ")
                throw ClusterupError.local("init did not start in time on \(names)",
                                           hint: "see the logs in \(paths.logDirectory)")
            }
            usleep(50_000)
        }
    }

    static func waitForSSH(_ node: LabNode, nspawn: RecordedProcess, system: HostSystem, deadline: Date,
                           timeout: Double) throws {
        while true {
            if system.sshAnswers(address: node.address, timeout: 1) { return }
            if !system.isAlive(nspawn) {
                throw ClusterupError.local(
                    "the node stopped while booting (systemd-nspawn exited)", at: "\(node.name) (\(node.address))",
                    hint: "see its log: \(node.logFile)")
            }
            if Date() > deadline {
                throw ClusterupError.local(
                    "sshd did not answer on \(node.address):22 within \(Int(timeout)) s", at: node.name,
                    hint: "see its log: \(node.logFile)")
            }
            usleep(200_000)
        }
    }

    enum StopMode: Sendable { case poweroff, kill }

    /// Stops a node by its init (killing nspawn alone would leave the node running, reparented).
    @discardableResult
    func stop(_ node: LabNode, mode: StopMode, store: StateStore?) throws -> Bool {
        // A crash of `lab up` can leave nspawn recorded but not yet its init: find it now.
        let initProcess = node.initProcess ?? node.nspawn.flatMap(childInit)
        if let initProcess, system.isAlive(initProcess) {
            switch mode {
            case .poweroff:
                // systemd powers off on SIGRTMIN+4 (systemd(1)); fall back to SIGKILL if it hangs.
                system.signal(initProcess, __libc_current_sigrtmin() + 4)
                if !waitUntilGone([initProcess], seconds: 30) { system.signal(initProcess, SIGKILL) }
            case .kill:
                system.signal(initProcess, SIGKILL)
            }
            _ = waitUntilGone([initProcess], seconds: 5)
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
        return system.allProcesses().first { $0.parent == nspawn.pid && $0.command == "systemd" }
            .map { RecordedProcess(pid: $0.pid, startTime: $0.startTime) }
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
