import Foundation
import Testing
@testable import ClusterupLab

@Suite struct LabStateTests {
    @Test func stateSurvivesARoundTripThroughJSON() throws {
        let name = try LabName("lab")
        let plan = try AddressPlan(block: 2)
        let paths = LabPaths(name: name, root: "/var/lib/clusterup/labs")
        var state = LabState(name: name, plan: plan, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
        state.mounts = [paths.layers, "\(paths.nodesDirectory)/node1"]
        state.links = [name.bridge]
        state.nodes = [paths.node(1, plan: plan)]
        state.nodes[0].nspawn = RecordedProcess(pid: 42, startTime: 1234)
        state.nodes[0].initProcess = RecordedProcess(pid: 43, startTime: 1240)
        let decoded = try LabState.decode(try state.encoded())
        #expect(decoded.nodes == state.nodes)
        #expect(decoded.mounts == state.mounts)
        #expect(decoded.links == state.links)
        #expect(decoded.block == 2)
        #expect(decoded.phase == .creating)
        #expect(decoded.createdAt == state.createdAt)
    }

    @Test func nodesAreFoundByHostnameOrMachineName() throws {
        let name = try LabName("lab")
        let plan = try AddressPlan(block: 0)
        var state = LabState(name: name, plan: plan, createdAt: Date())
        state.nodes = [LabPaths(name: name).node(1, plan: plan)]
        #expect(state.node(named: "node1")?.index == 1)
        #expect(state.node(named: "lab-n1")?.index == 1)
        #expect(state.node(named: "node2") == nil)
    }

    @Test func nodeLayersLiveOnTheLabTmpfsAndRootsBesideIt() throws {
        let paths = LabPaths(name: try LabName("lab"), root: "/var/lib/clusterup/labs")
        let node = paths.node(3, plan: try AddressPlan(block: 0))
        #expect(node.upperDirectory.hasPrefix(paths.layers + "/"))
        #expect(node.workDirectory.hasPrefix(paths.layers + "/"))
        #expect(!node.rootDirectory.hasPrefix(paths.layers + "/"))
        #expect(node.rootDirectory == "/var/lib/clusterup/labs/lab/nodes/node3")
        #expect(node.hostLink == "vb-lab-n3")
        #expect(node.logFile == "/var/lib/clusterup/labs/lab/logs/node3.log")
    }

    @Test func filesystemOfAPathIsItsLongestMountPrefix() {
        let mounts = [
            ProcFS.Mount(mountPoint: "/", fileSystemType: "ext4", source: "/dev/vda"),
            ProcFS.Mount(mountPoint: "/run", fileSystemType: "tmpfs", source: "tmpfs"),
            ProcFS.Mount(mountPoint: "/run/systemd/nspawn", fileSystemType: "ramfs", source: "x"),
        ]
        #expect(LabController.fileSystemType(containing: "/run/systemd/nspawn", mounts: mounts) == "ramfs")
        #expect(LabController.fileSystemType(containing: "/run/systemd", mounts: mounts) == "tmpfs")
        #expect(LabController.fileSystemType(containing: "/running", mounts: mounts) == "ext4")
    }

    @Test func bootTimeoutGrowsWithTheNodeCount() {
        #expect(LabController.bootTimeout(nodes: 50) > LabController.bootTimeout(nodes: 3))
    }
}
