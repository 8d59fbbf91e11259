import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab

/// What the lab decides before it touches this machine: which address block, which limits to
/// raise, which process is a node's init, how a node is stopped, and what a failure says. No root.
@Suite struct LabControllerDecisionTests {
    func lab(_ name: String, block: Int, nodes: Int = 1) throws -> LabState {
        let labName = try LabName(name)
        let plan = try AddressPlan(block: block)
        var state = LabState(name: labName, plan: plan, createdAt: Date(timeIntervalSince1970: 0))
        state.nodes = (1...nodes).map { LabPaths(name: labName, root: "/labs").node($0, plan: plan) }
        return state
    }

    func decide(_ others: [LabState], addresses: [BlockAllocation.HostAddress] = []) throws -> BlockAllocation {
        try BlockAllocation.decide(for: try LabName("new"), otherLabs: others, hostAddresses: addresses)
    }

    @Test func aLabTakesTheLowestBlockNoOtherLabRecords() throws {
        #expect(try decide([]) == .allocated(try AddressPlan(block: 0)))
        #expect(try decide([try lab("one", block: 0), try lab("three", block: 2)]) == .allocated(try AddressPlan(block: 1)))
    }

    @Test func anAddressOfTheLabNetworkOnAHostLinkTakesItsBlock() throws {
        let taken = try decide([], addresses: [.init(link: "eth1", address: "198.51.100.70"), .init(link: "eth0", address: "10.0.0.5")])
        #expect(taken == .allocated(try AddressPlan(block: 0)))
        let first = try decide([], addresses: [.init(link: "eth1", address: "198.51.100.1")])
        #expect(first == .allocated(try AddressPlan(block: 1)))
    }

    @Test func whenEveryBlockIsTakenTheOwnersAreNamed() throws {
        let full = try decide([try lab("one", block: 0), try lab("two", block: 1), try lab("three", block: 2)],
                              addresses: [.init(link: "br9", address: "198.51.100.200")])
        #expect(full == .full([0: "lab one", 1: "lab two", 2: "lab three", 3: "address 198.51.100.200 on br9"]))
    }

    @Test func aLabsOwnBridgeAddressDoesNotNameTheHostLinkAsOwner() throws {
        let full = try decide([try lab("one", block: 0), try lab("two", block: 1), try lab("three", block: 2), try lab("four", block: 3)],
                              addresses: [.init(link: "cu-one", address: "198.51.100.1")])
        guard case .full(let used) = full else { Issue.record("\(full)"); return }
        #expect(used[0] == "lab one")
    }

    @Test func aMachineNameAnotherLabUsesIsRefused() throws {
        // Names of more than 8 characters share machine names through their first 4 and a hash:
        // a lab recorded with this lab's own machine names clashes.
        var other = try lab("other", block: 0)
        other.nodes[0].machine = try LabName("new").machineName(node: 3)
        let error = #expect(throws: ClusterupError.self) { try decide([other]) }
        #expect(error?.message == "lab new would reuse machine name new-n3 of lab other")
        #expect(error?.location == "--name")
    }

    @Test func hostAddressesAreReadFromIPOneLinePerAddress() {
        let output = """
            1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
            2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever
            7: cu-lab    inet 198.51.100.65/26 scope global cu-lab\\       valid_lft forever preferred_lft forever
            """
        #expect(BlockAllocation.hostAddresses(ipOutput: output) == [
            .init(link: "lo", address: "127.0.0.1"), .init(link: "eth0", address: "10.0.0.5"),
            .init(link: "cu-lab", address: "198.51.100.65"),
        ])
        #expect(BlockAllocation.hostAddresses(ipOutput: "garbage\n").isEmpty)
    }

    @Test func inotifyLimitsAreOnlyRaised() {
        let raises = LabController.inotifyRaises(current: ["fs.inotify.max_user_instances": 128, "fs.inotify.max_user_watches": 1_000_000])
        #expect(raises.map(\.name) == ["fs.inotify.max_user_instances"])
        #expect(raises.first?.from == 128)
        #expect(raises.first?.to == 8192)
    }

    @Test func anUnreadableInotifyLimitIsLeftAlone() {
        #expect(LabController.inotifyRaises(current: [:]).isEmpty)
    }

    @Test func aNodesInitIsTheSystemdChildOfItsNspawn() {
        let processes = [
            ProcFS.Stat(pid: 10, command: "systemd", state: "S", parent: 1, startTime: 5),
            ProcFS.Stat(pid: 20, command: "sh", state: "S", parent: 7, startTime: 6),
            ProcFS.Stat(pid: 21, command: "systemd", state: "S", parent: 7, startTime: 9),
        ]
        #expect(LabController.initProcess(of: 7, among: processes) == RecordedProcess(pid: 21, startTime: 9))
        #expect(LabController.initProcess(of: 8, among: processes) == nil)
    }

    @Test func aPoweroffAsksSystemdFirstAndKillsIfItHangs() {
        let steps = LabController.StopMode.poweroff.steps
        #expect(steps.map(\.signal) == [__libc_current_sigrtmin() + 4, SIGKILL])
        #expect(steps.map(\.grace) == [30, 5])
    }

    @Test func aKillIsOneSIGKILL() {
        #expect(LabController.StopMode.kill.steps.map(\.signal) == [SIGKILL])
    }

    @Test func nspawnPlugsTheNodeIntoTheLabsBridge() throws {
        let node = try lab("lab", block: 1).nodes[0]
        let arguments = LabController.nspawnArguments(node, bridge: "cu-lab")
        #expect(arguments.contains("--network-bridge=cu-lab"))
        #expect(arguments.contains("--directory=\(node.rootDirectory)"))
        #expect(arguments.contains("--machine=\(node.machine)"))
        #expect(arguments.contains("--boot"))
    }

    @Test func aHalfBuiltLabKeepsTheFailuresHintAndSaysHowToRemoveIt() throws {
        let paths = LabPaths(name: try LabName("lab"), root: "/labs")
        let error = LabController.halfBuilt(ClusterupError.local("mount failed", hint: "is overlayfs loaded?"), paths: paths)
        #expect(error.message == "mount failed")
        #expect(error.hint == "is overlayfs loaded?\n  hint: lab lab is left half-built (recorded in \(paths.stateFile), logs in \(paths.logDirectory)); `clusterup lab down --name lab` removes it")
    }

    @Test func aHalfBuiltLabOfAnyOtherErrorIsALocalError() throws {
        let paths = LabPaths(name: try LabName("lab"), root: "/labs")
        let error = LabController.halfBuilt(CocoaError(.fileNoSuchFile), paths: paths)
        #expect(error.kind == .local)
        #expect(error.hint?.hasSuffix("`clusterup lab down --name lab` removes it") == true)
    }

    @Test func oneFailedNodeIsRethrownAsItIs() {
        let results: [Result<Void, Error>] = [.success(()), .failure(ClusterupError.local("node2 failed"))]
        #expect(throws: ClusterupError.local("node2 failed")) { try LabController.firstFailure(results) }
        #expect(throws: Never.self) { try LabController.firstFailure([Result<Void, Error>.success(())]) }
    }

    @Test func severalFailedNodesAreListed() {
        let results: [Result<Void, Error>] = [.failure(ClusterupError.local("a")), .failure(ClusterupError.local("b"))]
        #expect(throws: ClusterupError.local("2 nodes failed:\n  a\n  b")) { try LabController.firstFailure(results) }
    }
}
