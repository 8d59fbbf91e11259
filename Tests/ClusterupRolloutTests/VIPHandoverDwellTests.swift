import ClusterupCore
import ClusterupDeploy
import Testing
import TestSupport
@testable import ClusterupRollout

/// `upgrade apply`'s hand-over on the VIP holder forwards for the dwell the inventory's VRRP
/// settings call for (`VIPRelease.dwellTenths(for:)`), as reset's retirement does.
@Suite struct VIPHandoverDwellTests {
    func inventory(_ vrrp: String) throws -> Inventory {
        try InventoryLoader(environment: [:], homeDirectory: "/nonexistent", currentDirectory: "/tmp").parse(yaml: """
            cluster: \(DemoInventory.cluster)
            hosts:
            \(DemoInventory.hostsYAML())
            vip: {address: \(DemoInventory.vip), prefix: 26, port: 8443}
            vrrp: \(vrrp)
            """, path: "/tmp/demo.yml")
    }

    @Test(arguments: [("{interface: eth0, vrid: 52}", "0.6"), ("{interface: eth0, vrid: 52, advert_interval: 1s}", "1.5"),
                      ("{interface: eth0, vrid: 52, version: 2, advert_interval: 1s, backend: keepalived}", "1.5")])
    func theHandOverDwellsAsLongAsTheInventorysAdvertsCallFor(vrrp: String, sleep: String) throws {
        let handover = try VIPHandover(balancers: [:], inventory: try inventory(vrrp))
        #expect(handover.handOverScript.contains("\n  sleep \(sleep)\n"), "\(handover.handOverScript)")
        #expect(!handover.handOverScript.contains("sleep 2\n"))
    }
}
