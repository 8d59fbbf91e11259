import Testing
@testable import ClusterupCLI

/// `verify failover --stop-node` powers off lab nodes only: which inventories count as a lab's,
/// and when their hosts are the lab's nodes.
@Suite struct StopNodeLabMatchTests {
    typealias Failover = Clusterup.VerifyFailoverCommand

    @Test func labInventoryAndCopiesBesideItNameTheLab() {
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs/demo/inventory.yml") == "demo")
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs/demo/inventory-keepalived.yml") == "demo")
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs/demo/other.yaml") == "demo")
    }

    @Test func pathsOutsideALabDirectoryNameNoLab() {
        #expect(Failover.labName(inventoryPath: "/root/inventory.yml") == nil)
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs/inventory.yml") == nil)
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs/demo/sub/inventory.yml") == nil)
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs/demo/state.json") == nil)
        #expect(Failover.labName(inventoryPath: "/var/lib/clusterup/labs//inventory.yml") == nil)
    }

    @Test func hostsThatAreTheLabsNodesMatch() {
        let nodes = [("node1", "198.51.100.11"), ("node2", "198.51.100.12"), ("node3", "198.51.100.13")]
        #expect(Failover.labMismatch(hosts: [("node1", "198.51.100.11"), ("node3", "198.51.100.13")],
                                     nodes: nodes, lab: "demo") == nil)
    }

    @Test func aHostTheLabLacksIsNamed() throws {
        let nodes = [("node1", "198.51.100.11"), ("node2", "198.51.100.12")]
        let problem = try #require(Failover.labMismatch(hosts: [("node1", "198.51.100.11"), ("cp9", "198.51.100.19")],
                                                        nodes: nodes, lab: "demo"))
        #expect(problem.contains("no node named cp9"))
        #expect(problem.contains("node1, node2"))
    }

    @Test func aHostAtAnotherAddressIsRefused() throws {
        let nodes = [("node1", "198.51.100.11"), ("node2", "198.51.100.12")]
        let problem = try #require(Failover.labMismatch(hosts: [("node1", "198.51.100.12"), ("node2", "198.51.100.12")],
                                                        nodes: nodes, lab: "demo"))
        #expect(problem == "node1 is 198.51.100.12 in the inventory but 198.51.100.11 in lab demo")
    }
}
