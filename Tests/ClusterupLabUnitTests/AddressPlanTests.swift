import ClusterupCore
import Testing
@testable import ClusterupLab

@Suite struct AddressPlanTests {
    @Test func firstBlockAddresses() throws {
        let plan = try AddressPlan(block: 0)
        #expect(plan.network == "198.51.100.0/26")
        #expect(plan.hostAddress == "198.51.100.1")
        #expect(plan.nodeAddress(1) == "198.51.100.11")
        #expect(plan.vipAddress == "198.51.100.62")
    }

    @Test func blockKStartsAtSixtyFourK() throws {
        let plan = try AddressPlan(block: 3)
        #expect(plan.network == "198.51.100.192/26")
        #expect(plan.hostAddress == "198.51.100.193")
        #expect(plan.nodeAddress(2) == "198.51.100.204")
        #expect(plan.vipAddress == "198.51.100.254")
    }

    @Test func fiftyNodesStayBelowTheVIPInsideTheBlock() throws {
        for block in 0..<AddressPlan.blockCount {
            let plan = try AddressPlan(block: block)
            let last = plan.nodeAddress(AddressPlan.maxNodes)
            #expect(AddressPlan.block(containing: last) == block)
            #expect(last != plan.vipAddress)
            #expect(Int(last.split(separator: ".")[3])! < Int(plan.vipAddress.split(separator: ".")[3])!)
        }
    }

    @Test func eachBlockHasItsOwnVRID() throws {
        let vrids = try (0..<AddressPlan.blockCount).map { try AddressPlan(block: $0).vrid }
        #expect(Set(vrids).count == AddressPlan.blockCount)
        #expect(vrids.allSatisfy { (1...255).contains($0) })
    }

    @Test func blockOfAnAddress() {
        #expect(AddressPlan.block(containing: "198.51.100.65") == 1)
        #expect(AddressPlan.block(containing: "198.51.100.255") == 3)
        #expect(AddressPlan.block(containing: "192.0.2.1") == nil)
        #expect(AddressPlan.block(containing: "198.51.100.300") == nil)
    }

    @Test func takesTheLowestFreeBlock() throws {
        #expect(try AddressPlan.firstFreeBlock(used: [:]).block == 0)
        #expect(try AddressPlan.firstFreeBlock(used: [0: "lab a", 2: "lab c"]).block == 1)
    }

    @Test func refusesWhenAllBlocksAreTakenNamingTheirOwners() {
        do {
            _ = try AddressPlan.firstFreeBlock(used: [0: "lab a", 1: "lab b", 2: "lab c", 3: "lab d"])
            Issue.record("allocated a fifth block")
        } catch let error as ClusterupError {
            #expect(error.message.contains("lab d (block 3)"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: [0, 51, -1])
    func refusesNodeCountsOutsideOneToFifty(_ count: Int) {
        #expect(throws: ClusterupError.self) { try AddressPlan.validateNodeCount(count) }
    }

    @Test func refusesBlocksOutsideTheRange() {
        #expect(throws: ClusterupError.self) { try AddressPlan(block: 4) }
    }
}
