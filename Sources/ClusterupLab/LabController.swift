import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Does the lab's work, blocking. Always called on a dedicated thread (see `Lab`).
///
/// One file per concern: this one runs `up` (and what grows a lab); `LabAllocation` takes an
/// address block (chosen by `BlockAllocation`), `LabHostSetup` prepares this machine,
/// `NodeOverlay` makes the nodes' roots, `NodeBoot` and `NodeStop` start and stop them,
/// `LabTeardown` removes a lab, and `Lab` holds the other commands.
final class LabController: Sendable {
    let paths: LabPaths
    let commands = HostCommands()
    let system = HostSystem()
    let progress: @Sendable (String) -> Void
    var cgroups: NodeCgroups { NodeCgroups(commands: commands, system: system) }

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
        Self.halfBuilt(error, paths: paths)
    }

    static func halfBuilt(_ error: Error, paths: LabPaths) -> ClusterupError {
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

    /// Rethrows the one failure of work done per node, or one error listing several.
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

    /// What clients of the lab read: known_hosts, the inventory and the stand-ins.
    func writeClientFiles(_ state: LabState) throws {
        try writeFile(paths.knownHosts, LabFiles.knownHosts(state: state), mode: 0o644)
        try writeFile(paths.inventory, try LabFiles.inventory(state: state, paths: paths), mode: 0o644)
        try FileManager.default.createDirectory(atPath: paths.standins, withIntermediateDirectories: true)
        for (name, text) in LabFiles.standins {
            try writeFile("\(paths.standins)/\(name)", text, mode: 0o755)
        }
    }
}
