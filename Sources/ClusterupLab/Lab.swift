import ClusterupCore
import Foundation

/// Local labs of real nodes: systemd-nspawn machines over overlays of /, on a bridge of their own.
///
/// Every function needs root, runs its blocking work on a dedicated thread, and records what it
/// does in `<root>/<name>/state.json`, so `down` can undo any of it, even after a crash.
public enum Lab {
    public static let defaultName = "lab"
    public static let defaultNodeCount = 3

    public typealias Progress = @Sendable (String) -> Void

    /// Creates lab `name` with `nodes` nodes (removing leftovers of an earlier lab of that name),
    /// boots them in parallel and returns once every node's sshd answers. The inventory is at
    /// `paths(name:).inventory`. When all 4 address blocks are taken, waits up to
    /// `waitForAddressBlock` seconds for one to free (test suites that run labs side by side).
    /// `release`: the nodes' Debian release; nil or the host's own boots overlays of `/`, another
    /// the cached image of that release (built first when missing, see `ImageCache`).
    public static func up(name: String = defaultName, nodes: Int = defaultNodeCount, release: DebianRelease? = nil,
                          root: String = LabPaths.defaultRoot, bootTimeout: Double? = nil,
                          waitForAddressBlock: Double = 0,
                          progress: @escaping Progress = { _ in }) async throws -> LabState {
        let controller = try controller(name, root: root, progress: progress)
        return try await Blocking.run("lab-up") {
            try controller.up(nodeCount: nodes, release: release, bootTimeout: bootTimeout, blockWait: waitForAddressBlock)
        }
    }

    /// Removes everything of lab `name`: processes (by recorded pid, then by scan), mounts, links, files.
    @discardableResult
    public static func down(name: String = defaultName, root: String = LabPaths.defaultRoot,
                            progress: @escaping Progress = { _ in }) async throws -> TeardownReport {
        let controller = try controller(name, root: root, progress: progress)
        return try await Blocking.run("lab-down") { try controller.down() }
    }

    /// What the lab's nodes are doing now.
    public static func status(name: String = defaultName, root: String = LabPaths.defaultRoot) throws -> LabStatus {
        let controller = try controller(name, root: root, progress: { _ in })
        return try controller.status()
    }

    public enum StopMode: String, Sendable, CaseIterable {
        /// Clean shutdown (systemd powers off; services stop in order).
        case poweroff
        /// The node dies at once, as on power loss: its init is killed with SIGKILL.
        case kill
    }

    /// Stops one node (`node1`, or its machine name). Its overlay stays, so `startNode` boots the same disk.
    public static func stopNode(_ node: String, lab: String = defaultName, mode: StopMode = .poweroff,
                                root: String = LabPaths.defaultRoot) async throws {
        let controller = try controller(lab, root: root, progress: { _ in })
        try await Blocking.run("lab-stop") {
            let (store, labNode) = try controller.loadNode(node)
            try controller.stop(labNode, mode: mode == .kill ? .kill : .poweroff, store: store)
        }
    }

    /// Boots a stopped node again and waits until its sshd answers.
    public static func startNode(_ node: String, lab: String = defaultName, root: String = LabPaths.defaultRoot,
                                 bootTimeout: Double = 60) async throws {
        let controller = try controller(lab, root: root, progress: { _ in })
        try await Blocking.run("lab-start") { try controller.start(node, timeout: bootTimeout) }
    }

    /// Cuts a node off the bridge (`ip link set vb-<machine> down`); the node keeps running.
    public static func cutLink(_ node: String, lab: String = defaultName, root: String = LabPaths.defaultRoot) async throws {
        let controller = try controller(lab, root: root, progress: { _ in })
        try await Blocking.run("lab-link") { try controller.setLink(node, up: false) }
    }

    /// Puts a node back on the bridge.
    public static func restoreLink(_ node: String, lab: String = defaultName, root: String = LabPaths.defaultRoot) async throws {
        let controller = try controller(lab, root: root, progress: { _ in })
        try await Blocking.run("lab-link") { try controller.setLink(node, up: true) }
    }

    /// Adds nodes to a running lab until it has `nodes`, then rewrites its inventory and known_hosts.
    /// The new nodes run `release` (nil: the host's), whatever the lab's other nodes run: a mixed lab.
    public static func grow(name: String = defaultName, nodes: Int, release: DebianRelease? = nil,
                            root: String = LabPaths.defaultRoot,
                            progress: @escaping Progress = { _ in }) async throws -> LabState {
        let controller = try controller(name, root: root, progress: progress)
        return try await Blocking.run("lab-grow") { try controller.grow(to: nodes, release: release) }
    }

    /// Runs `command` (argv) inside a running node as root, through its init's namespaces rather than
    /// SSH: for tests that inspect a node (`ip -br addr`) even while its link is cut.
    public static func execute(_ command: [String], on node: String, lab: String = defaultName,
                               root: String = LabPaths.defaultRoot) async throws -> HostCommands.Result {
        let controller = try controller(lab, root: root, progress: { _ in })
        return try await Blocking.run("lab-exec") { try controller.execute(command, on: node) }
    }

    /// The files of lab `name`: inventory, known_hosts, private key, state, logs.
    public static func paths(name: String = defaultName, root: String = LabPaths.defaultRoot) throws -> LabPaths {
        LabPaths(name: try LabName(name), root: root)
    }

    /// Where `lab up` writes the inventory of lab `name`.
    public static func inventoryPath(name: String = defaultName, root: String = LabPaths.defaultRoot) throws -> String {
        LabPaths(name: try LabName(name), root: root).inventory
    }

    private static func controller(_ name: String, root: String, progress: @escaping Progress) throws -> LabController {
        try LabController.requireRoot()
        try LabController.requireTools()
        return LabController(paths: LabPaths(name: try LabName(name), root: root), progress: progress)
    }
}

/// `lab status`: the recorded lab and what is running now.
public struct LabStatus: Codable, Sendable {
    public struct Node: Codable, Sendable {
        public var name: String
        public var machine: String
        public var address: String
        /// Its Debian release (`trixie`); nil in labs recorded before releases.
        public var release: String?
        /// The image below its overlay; nil: this machine's root.
        public var image: String?
        /// The node's init runs.
        public var running: Bool
        /// `up`, `cut` (`lab link cut`), `no-carrier`, or `absent` (node not running).
        public var link: String
        public var nspawnPID: Int32?
        public var initPID: Int32?
        public var logFile: String
    }

    public var name: String
    public var phase: String
    public var bridge: String
    public var network: String
    public var hostAddress: String
    public var vip: String
    public var inventory: String
    public var knownHosts: String
    public var identityFile: String
    public var nodes: [Node]
}

extension LabController {
    func loadStore() throws -> StateStore {
        guard let state = try StateStore.load(paths) else {
            throw ClusterupError.badInput("no lab named \(paths.name)", at: paths.stateFile,
                                          hint: "create it with `clusterup lab up --name \(paths.name)`")
        }
        return StateStore(state, paths: paths)
    }

    func loadNode(_ name: String) throws -> (StateStore, LabNode) {
        let store = try loadStore()
        guard let node = store.state.node(named: name) else {
            let known = store.state.nodes.map(\.name).joined(separator: ", ")
            throw ClusterupError.badInput("lab \(paths.name) has no node \(name)",
                                          hint: "its nodes are: \(known)")
        }
        return (store, node)
    }

    func status() throws -> LabStatus {
        let state = try loadStore().state
        let plan = try state.plan
        let nodes = state.nodes.sorted { $0.index < $1.index }.map { node -> LabStatus.Node in
            let running = isRunning(node)
            let link: String
            switch system.isAdministrativelyUp(node.hostLink) {
            case nil: link = "absent"
            case false?: link = "cut"
            case true?: link = system.operationalState(of: node.hostLink) == "up" ? "up" : "no-carrier"
            }
            return LabStatus.Node(
                name: node.name, machine: node.machine, address: node.address, release: node.release?.rawValue,
                image: node.lowerDirectory, running: running, link: link,
                nspawnPID: running ? node.nspawn?.pid : nil, initPID: running ? node.initProcess?.pid : nil,
                logFile: node.logFile)
        }
        return LabStatus(
            name: state.name, phase: state.phase.rawValue, bridge: state.bridge, network: plan.network,
            hostAddress: plan.hostAddress, vip: plan.vipAddress, inventory: paths.inventory,
            knownHosts: paths.knownHosts, identityFile: paths.privateKey, nodes: nodes)
    }

    func start(_ name: String, timeout: Double) throws {
        let (store, node) = try loadNode(name)
        guard !isRunning(node) else {
            throw ClusterupError.badInput("\(node.name) is already running", at: node.name)
        }
        if !labMounts().contains(node.rootDirectory) {
            try Self.mountOverlay(node, commands: commands)
            try store.update { state in
                if !state.mounts.contains(node.rootDirectory) { state.mounts.append(node.rootDirectory) }
            }
        }
        try boot([node], store: store, timeout: timeout)
    }

    func setLink(_ name: String, up: Bool) throws {
        let (_, node) = try loadNode(name)
        guard isRunning(node), system.operationalState(of: node.hostLink) != nil else {
            throw ClusterupError.badInput("\(node.name) is not running, so it has no link to \(up ? "restore" : "cut")",
                                          at: node.name, hint: "start it with `clusterup lab node start \(node.name)`")
        }
        try commands.check("ip", ["link", "set", node.hostLink, up ? "up" : "down"],
                           what: "\(node.name): setting \(node.hostLink) \(up ? "up" : "down")")
        // Return once the link carries traffic again, so a caller's next probe measures the node.
        let deadline = Date().addingTimeInterval(2)
        while up, system.operationalState(of: node.hostLink) != "up", Date() < deadline { usleep(5_000) }
    }

    func grow(to count: Int, release: DebianRelease?) throws -> LabState {
        try AddressPlan.validateNodeCount(count)
        let store = try loadStore()
        let plan = try store.state.plan
        let existing = store.state.nodes.count
        guard count > existing else {
            throw ClusterupError.badInput("lab \(paths.name) already has \(existing) nodes; grow adds nodes",
                                          at: "--nodes", hint: "give a number above \(existing)")
        }
        let base = try nodeBase(release)
        let added = (existing + 1...count).map { base.apply(to: paths.node($0, plan: plan)) }
        try store.update { $0.nodes += added }
        do {
            try addNodes(added, store: store)
        } catch {
            throw halfBuilt(error)
        }
        return store.state
    }

    private func addNodes(_ added: [LabNode], store: StateStore) throws {
        try prepare(added, store: store)
        // Old nodes learn the new names too.
        let hosts = LabFiles.hosts(state: store.state)
        for node in store.state.nodes where !added.contains(where: { $0.index == node.index }) {
            try NodeImage(node: node, commands: commands, system: system).writeHosts(hosts)
        }
        try writeClientFiles(store.state)
        try boot(store.state.nodes.filter { node in added.contains { $0.index == node.index } }, store: store,
                 timeout: Self.bootTimeout(nodes: added.count))
    }

    /// Runs a command inside a running node's namespaces (nsenter into its init), without SSH.
    func execute(_ arguments: [String], on name: String) throws -> HostCommands.Result {
        let (_, node) = try loadNode(name)
        guard let initProcess = node.initProcess, system.isAlive(initProcess) else {
            throw ClusterupError.badInput("\(node.name) is not running", at: node.name,
                                          hint: "start it with `clusterup lab node start \(node.name)`")
        }
        return try commands.run("nsenter", ["--target", "\(initProcess.pid)", "--mount", "--uts", "--ipc", "--net",
                                            "--pid", "--cgroup", "--"] + arguments)
    }
}
