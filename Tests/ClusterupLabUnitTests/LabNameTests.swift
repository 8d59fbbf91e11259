import ClusterupCore
import Testing
@testable import ClusterupLab

@Suite struct LabNameTests {
    @Test func acceptsShortLowercaseNames() throws {
        #expect(try LabName("lab").value == "lab")
        #expect(try LabName("vrrp-2").value == "vrrp-2")
    }

    @Test(arguments: ["", "Lab", "1lab", "lab-", "lab_1", "a-name-too-long", "lab.x"])
    func rejectsNamesThatCannotNameABridge(_ name: String) {
        #expect(throws: ClusterupError.self) { try LabName(name) }
    }

    @Test func rejectionIsBadInputNamingTheFlag() {
        do {
            _ = try LabName("BAD")
            Issue.record("accepted BAD")
        } catch let error as ClusterupError {
            #expect(error.exitCode == 2)
            #expect(error.location == "--name")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func bridgeNameFitsAnInterfaceName() throws {
        let longest = try LabName("abcdefghijkl")
        #expect(longest.bridge == "cu-abcdefghijkl")
        #expect(longest.bridge.utf8.count <= 15)
    }

    @Test(arguments: ["lab", "abcdefgh", "abcdefghi", "abcdefghijkl"])
    func everyVethNameFitsFifteenBytes(_ name: String) throws {
        let lab = try LabName(name)
        for index in 1...AddressPlan.maxNodes {
            #expect("vb-\(lab.machineName(node: index))".utf8.count <= 15, "node \(index) of \(name)")
        }
    }

    @Test func machineNamesAreDistinctWithinALab() throws {
        let lab = try LabName("abcdefghijk")
        let names = (1...AddressPlan.maxNodes).map { lab.machineName(node: $0) }
        #expect(Set(names).count == names.count)
    }

    @Test func shortNamesKeepTheLabNameReadable() throws {
        #expect(try LabName("lab").machineName(node: 3) == "lab-n3")
    }

    @Test func longNamesSharingAPrefixGetDifferentMachineNames() throws {
        let first = try LabName("staging-one")
        let second = try LabName("staging-two")
        #expect(first.machineName(node: 1) != second.machineName(node: 1))
    }

    @Test func hashedNamesNeverEqualShortNames() throws {
        // An 8-character name could spell a prefix plus hash; the separator keeps the forms apart.
        let long = try LabName("abcdefghijk")
        let lookalike = try LabName(String(long.machineName(node: 1).prefix(8)))
        #expect(lookalike.machineName(node: 1) != long.machineName(node: 1))
    }

    @Test func ownsOnlyItsOwnMachineNames() throws {
        let lab = try LabName("lab")
        #expect(lab.ownsMachineName("lab-n50"))
        #expect(!lab.ownsMachineName("lab-n51"))
        #expect(!lab.ownsMachineName("lab2-n1"))
        #expect(!(try LabName("lab2")).ownsMachineName("lab-n1"))
    }
}
