import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// Real labs on this machine. Root only; serialized so the labs' boots don't compete for the 2 cores.
@Suite(.serialized, .requiresRoot("boots systemd-nspawn nodes on a bridge"))
struct LabIntegrationTests {
    /// Other suites may run labs at the same time; there are 4 address blocks for all of them.
    static let blockWait = LabFixture.addressBlockWait

    /// Runs `body` against a fresh lab and always removes the lab afterwards, even when `body` throws.
    func withLab(_ name: String, nodes: Int, _ body: (LabState) async throws -> Void) async throws {
        let state = try await Lab.up(name: name, nodes: nodes, waitForAddressBlock: Self.blockWait)
        do {
            try await body(state)
        } catch {
            _ = try? await Lab.down(name: name)
            throw error
        }
        let report = try await Lab.down(name: name)
        #expect(report.remaining.isEmpty)
        try expectNothingLeft(of: state)
    }

    /// `hostname` over OpenSSH with the lab's key and strict host key checking against its known_hosts.
    func sshHostname(_ node: LabNode, lab: String) async throws -> HostCommands.Result {
        let paths = LabPaths(name: try LabName(lab))
        return try await Blocking.run {
            try HostCommands().run("ssh", [
                "-i", paths.privateKey, "-o", "UserKnownHostsFile=\(paths.knownHosts)",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
                "-o", "GlobalKnownHostsFile=/dev/null", "root@\(node.address)", "hostname",
            ])
        }
    }

    /// `hostname` over SSH, retried until it answers or `seconds` pass: right after a link comes
    /// back the host may still hold a failed neighbour entry for the node, and on a loaded machine
    /// one 2 s connect attempt can miss the moment it recovers.
    func sshHostnameEventually(_ node: LabNode, lab: String, within seconds: Double = 15) async throws -> HostCommands.Result {
        let deadline = Date().addingTimeInterval(seconds)
        var result = try await sshHostname(node, lab: lab)
        while result.stdout != "\(node.name)\n", Date() < deadline {
            try await Task.sleep(nanoseconds: 250_000_000)
            result = try await sshHostname(node, lab: lab)
        }
        return result
    }

    func expectNothingLeft(of state: LabState) throws {
        let system = HostSystem()
        let name = try LabName(state.name)
        let directory = LabPaths(name: name).directory
        #expect(!system.mounts().contains { $0.mountPoint.hasPrefix(directory + "/") }, "a mount of \(state.name) remains")
        #expect(!system.links().contains(name.bridge), "bridge \(name.bridge) remains")
        for node in state.nodes {
            #expect(system.operationalState(of: node.hostLink) == nil, "\(node.hostLink) remains")
            for process in [node.nspawn, node.initProcess].compactMap({ $0 }) {
                #expect(!system.isAlive(process), "pid \(process.pid) of \(node.name) still runs")
            }
        }
        let strays = system.allProcesses().filter { process in
            process.state != "Z" && ProcFS.nspawnDirectory(system.commandLine(of: process.pid))?.hasPrefix(directory) == true
        }
        #expect(strays.isEmpty, "nspawn processes of \(state.name) remain: \(strays.map(\.pid))")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func nodesBootWithOwnIdentityAndSurviveStopStartAndLinkCuts() async throws {
        let lab = LabFixture.name("cutest")
        try await withLab(lab, nodes: 3) { (state: LabState) async throws in
            #expect(state.phase == .ready)
            #expect(state.nodes.map(\.name) == ["node1", "node2", "node3"])
            for node in state.nodes {
                let result = try await sshHostname(node, lab: lab)
                #expect(result.status == 0, "\(node.name): \(result.stderr)")
                #expect(result.stdout == "\(node.name)\n")
            }
            let keys = Set(state.nodes.compactMap(\.hostKey))
            #expect(keys.count == 3, "each node has its own host key")

            // Per-login work a lab node skips (README, "Lab"): root's user manager lingers, and the
            // logins above ran no motd scripts (pam_motd would have written /run/motd.dynamic).
            let linger = try await Lab.execute(["loginctl", "show-user", "root", "--property=Linger"], on: "node1", lab: lab)
            #expect(linger.stdout == "Linger=yes\n", "\(linger.stdout)\(linger.stderr)")
            let motd = try await Lab.execute(["test", "-e", "/run/motd.dynamic"], on: "node1", lab: lab)
            #expect(motd.status == 1, "an SSH login ran the motd scripts")

            // A node cannot read the host's secrets: no password hash, none of the host's home
            // directories or root's files, no lab state (private keys).
            let secrets = try await Lab.execute(["sh", "-c", """
                cut -d: -f2 /etc/shadow | sort -u; echo --; ls -A /root; echo --; ls -A /home; echo --; \
                ls /var/lib/clusterup 2>&1 || true
                """], on: "node1", lab: lab)
            let sections = secrets.stdout.components(separatedBy: "--\n")
            #expect(sections.count == 4, "\(secrets.stdout)\(secrets.stderr)")
            if sections.count == 4 {
                #expect(sections[0] == "*\n", "password hash fields seen by a node: \(sections[0])")
                let rootFiles = Set(sections[1].split(separator: "\n").map(String.init))
                #expect(rootFiles.isSubset(of: [".bashrc", ".profile", ".ssh", ".cache", ".lesshst", ".local", ".config"]), "\(rootFiles)")
                let hostRoot = Set((try? FileManager.default.contentsOfDirectory(atPath: "/root")) ?? [])
                #expect(rootFiles.intersection(hostRoot).isSubset(of: [".bashrc", ".profile", ".ssh", ".cache", ".local", ".config"]))
                #expect(sections[2].isEmpty, "host home directories seen by a node: \(sections[2])")
                #expect(sections[3].contains("No such file"), "\(sections[3])")
            }

            // A killed node is down, and boots again with the same disk and key.
            let node2 = state.nodes[1]
            try await Lab.stopNode("node2", lab: lab, mode: .kill)
            var status = try Lab.status(name: lab)
            #expect(status.nodes[1].running == false)
            #expect(HostSystem().sshAnswers(address: node2.address, timeout: 0.5) == false)
            try await Lab.startNode("node2", lab: lab)
            status = try Lab.status(name: lab)
            #expect(status.nodes[1].running)
            #expect(try await sshHostname(node2, lab: lab).stdout == "node2\n")

            // A clean poweroff works too.
            try await Lab.stopNode("node3", lab: lab, mode: .poweroff)
            #expect(try Lab.status(name: lab).nodes[2].running == false)

            // A cut link isolates a running node; restoring it brings it back.
            let node1 = state.nodes[0]
            try await Lab.cutLink("node1", lab: lab)
            #expect(try Lab.status(name: lab).nodes[0].link == "cut")
            #expect(try Lab.status(name: lab).nodes[0].running)
            #expect(HostSystem().sshAnswers(address: node1.address, timeout: 1) == false)
            // The node itself keeps its address while cut (a VIP held by VRRP would stay too).
            let inside = try await Lab.execute(["ip", "-br", "addr", "show", "host0"], on: "node1", lab: lab)
            #expect(inside.status == 0)
            #expect(inside.stdout.contains("\(node1.address)/26"))
            try await Lab.restoreLink("node1", lab: lab)
            #expect(try Lab.status(name: lab).nodes[0].link == "up")
            #expect(try await sshHostnameEventually(node1, lab: lab).stdout == "node1\n")
        }
    }

    @Test func upReplacesLeftoversOfACrashedLabOfTheSameName() async throws {
        let first = try await Lab.up(name: "culeft", nodes: 2, waitForAddressBlock: Self.blockWait)
        let paths = LabPaths(name: try LabName("culeft"))
        // As if `lab up` had died before recording anything: the state is lost, everything else runs.
        try FileManager.default.removeItem(atPath: paths.stateFile)
        try await withLab("culeft", nodes: 2) { (second: LabState) async throws in
            for node in first.nodes {
                #expect(!HostSystem().isAlive(node.initProcess!), "old \(node.name) was stopped")
            }
            for node in second.nodes {
                #expect(try await sshHostname(node, lab: "culeft").stdout == "\(node.name)\n")
            }
        }
    }

    @Test func bootTimeoutNamesTheNodeAndWhereItsLogIs() async throws {
        let paths = try Lab.paths(name: "cuslow")
        var failure: Error?
        do {
            _ = try await Lab.up(name: "cuslow", nodes: 1, bootTimeout: 0.05, waitForAddressBlock: Self.blockWait)
        } catch {
            failure = error
        }
        let report = try await Lab.down(name: "cuslow")
        #expect(report.remaining.isEmpty)
        let error = try #require(failure as? ClusterupError, "a node answered SSH within 50 ms")
        #expect(error.description.contains("node1"))
        #expect(error.description.contains(paths.logDirectory))
        #expect(error.description.contains("clusterup lab down --name cuslow"))
    }

    @Test func downRemovesALabWhoseUpWasKilledWhileBooting() async throws {
        let paths = try Lab.paths(name: "cucrash")
        let upProcess = try SpawnedProcess(try ClusterupBinary.located(), ["lab", "up", "--nodes", "4", "--name", "cucrash",
                                                                           "--wait-for-address-block", String(Int(Self.blockWait))])
        // Kill it once it has started some node's nspawn, i.e. halfway.
        let started = Date()
        var halfway: LabState?
        while halfway == nil, Date().timeIntervalSince(started) < 30 + Self.blockWait, upProcess.isRunning {
            if let data = FileManager.default.contents(atPath: paths.stateFile),
               let state = try? LabState.decode(data), state.nodes.contains(where: { $0.nspawn != nil }) {
                halfway = state
            } else {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        kill(upProcess.processIdentifier, SIGKILL)
        upProcess.waitUntilExit()
        let recorded = try #require(halfway, "lab up never recorded a running nspawn")
        #expect(recorded.phase == .creating)

        let report = try await Lab.down(name: "cucrash")
        #expect(report.remaining.isEmpty)
        #expect(recorded.nodes.count == 4)
        try expectNothingLeft(of: recorded)
    }

    @Test func downRemovesAHalfBuiltLab() async throws {
        // A lab that got as far as its tmpfs and bridge, plus one stray mount, and no node yet.
        let name = try LabName("cuhalf")
        let paths = LabPaths(name: name)
        let commands = HostCommands()
        try FileManager.default.createDirectory(atPath: "\(paths.nodesDirectory)/node1", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: paths.layers, withIntermediateDirectories: true)
        try commands.check("mount", ["-t", "tmpfs", "cuhalf-test", paths.layers], what: "test mount")
        try commands.check("mount", ["-t", "tmpfs", "cuhalf-test", "\(paths.nodesDirectory)/node1"], what: "test mount")
        try commands.check("ip", ["link", "add", name.bridge, "type", "bridge"], what: "test bridge")
        let report = try await Lab.down(name: "cuhalf")
        #expect(report.remaining.isEmpty)
        #expect(report.unmounted.count == 2)
        #expect(report.removedLinks == [name.bridge])
        try expectNothingLeft(of: LabState(name: name, plan: try AddressPlan(block: 0), createdAt: Date()))
    }

    @Test func twoLabsCoexistOnTheirOwnBridgesAndBlocks() async throws {
        try await withLab("cua", nodes: 1) { (a: LabState) async throws in
            try await withLab("cub", nodes: 1) { (b: LabState) async throws in
                #expect(a.block != b.block)
                #expect(a.bridge != b.bridge)
                #expect(try await sshHostname(a.nodes[0], lab: "cua").stdout == "node1\n")
                #expect(try await sshHostname(b.nodes[0], lab: "cub").stdout == "node1\n")
            }
        }
    }

    @Test func growAddsABootedNodeToTheInventoryAndKnownHosts() async throws {
        try await withLab("cugrow", nodes: 1) { (_: LabState) async throws in
            let grown = try await Lab.grow(name: "cugrow", nodes: 2)
            #expect(grown.nodes.count == 2)
            #expect(try await sshHostname(grown.nodes[1], lab: "cugrow").stdout == "node2\n")
            let inventory = try String(contentsOfFile: try Lab.inventoryPath(name: "cugrow"), encoding: .utf8)
            #expect(inventory.contains("address: \(grown.nodes[1].address)"))
        }
    }
}
