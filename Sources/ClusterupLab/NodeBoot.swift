import ClusterupCore
import Foundation

/// Booting nodes: one systemd-nspawn per node in its own control groups, its init found and
/// recorded, then a wait until its sshd answers.
extension LabController {
    /// Starts every node's systemd-nspawn at once, records its pids, and waits until each sshd answers.
    func boot(_ nodes: [LabNode], store: StateStore, timeout: Double) throws {
        let started = Date()
        var launched: [Int: RecordedProcess] = [:]
        for node in nodes {
            // nspawn starts in the node's own control groups (see NodeCgroups), through /bin/sh
            // which joins them and execs it: the pid stays the one recorded.
            let procsFiles = try cgroups.prepare(machine: node.machine)
            let pid = try commands.spawn("/bin/sh", ["-c", NodeCgroups.joinThenExec(procsFiles), "sh",
                                                     try HostCommands.locate("systemd-nspawn")]
                                             + Self.nspawnArguments(node, bridge: paths.name.bridge),
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

    static func nspawnArguments(_ node: LabNode, bridge: String) -> [String] {
        [
            "--quiet", "--directory=\(node.rootDirectory)", "--boot", "--machine=\(node.machine)",
            // No machined/system bus on this host: don't register, and keep our own cgroup.
            "--register=no", "--keep-unit",
            "--network-bridge=\(bridge)",
            "--console=read-only",
            // Services such as HAProxy raise their descriptor limit as on a real host.
            "--rlimit=RLIMIT_NOFILE=1048576",
        ]
    }

    /// systemd 257 on cgroup v1 (this hybrid host) runs "tainted: cgroupsv1": give such nodes cgroup2.
    static func nspawnEnvironment(_ node: LabNode) -> [String: String] {
        node.release?.needsUnifiedCgroup == true ? ["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"] : [:]
    }

    /// A node's init is the child of its nspawn named systemd (nspawn execs it as PID 1 inside).
    static func initProcess(of nspawn: Int32, among processes: [ProcFS.Stat]) -> RecordedProcess? {
        processes.first { $0.parent == nspawn && $0.command == "systemd" }
            .map { RecordedProcess(pid: $0.pid, startTime: $0.startTime) }
    }

    /// Finds each node's init (systemd, PID 1 inside) once its nspawn has exec'd it.
    private func recordInits(_ nodes: [LabNode], launched: [Int: RecordedProcess], store: StateStore,
                             deadline: Date) throws {
        var missing = Dictionary(uniqueKeysWithValues: nodes.map { ($0.index, $0) })
        while !missing.isEmpty {
            let processes = system.allProcesses()
            for (index, node) in missing {
                guard let nspawn = launched[index] else { continue }
                if let initProcess = Self.initProcess(of: nspawn.pid, among: processes) {
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
}
