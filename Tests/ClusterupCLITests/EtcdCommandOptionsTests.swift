import ArgumentParser
import ClusterupCore
import ClusterupRollout
import Testing
@testable import ClusterupCLI

/// The etcd commands' options: what is refused before anything is asked of a node. No root.
@Suite struct EtcdCommandOptionsTests {
    @Test func minFreeTakesAPercentageWithOrWithoutTheSign() throws {
        let twenty = try Clusterup.EtcdDefragCommand.parse(["--min-free", "20%"])
        #expect(try twenty.selection() == .minFree(0.2))
        #expect(try Clusterup.EtcdDefragCommand.parse(["--min-free", "5"]).selection() == .minFree(0.05))
        #expect(try Clusterup.EtcdDefragCommand.parse([]).selection() == .minFree(EtcdDefragPlan.defaultMinFree))
        #expect(try Clusterup.EtcdDefragCommand.parse(["--all"]).selection() == .all)
    }

    @Test func badDefragOptionsAreRefused() {
        for arguments in [["--min-free", "120%"], ["--min-free", "lots"], ["--all", "--min-free", "20%"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try Clusterup.EtcdDefragCommand.parse(arguments) }
        }
    }

    @Test func recoverNeedsExactlyOneSource() {
        #expect(throws: (any Error).self) { try Clusterup.EtcdRecoverCommand.parse(["--yes"]) }
        #expect(throws: (any Error).self) {
            try Clusterup.EtcdRecoverCommand.parse(["--from-member", "node1", "--from-snapshot", "s.db", "--yes"])
        }
        #expect((try? Clusterup.EtcdRecoverCommand.parse(["--from-member", "node1", "--yes"])) != nil)
    }

    @Test func ageReadsAsPeopleSayIt() {
        #expect(AgeText.describe(42) == "42 s")
        #expect(AgeText.describe(17 * 60 + 5) == "17 min")
        #expect(AgeText.describe(5 * 3600 + 3 * 60) == "5 h 3 min")
        #expect(AgeText.describe(12 * 86400) == "12 days")
    }
}
