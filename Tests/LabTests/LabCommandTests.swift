import ArgumentParser
import Testing
@testable import ClusterupCLI
@testable import ClusterupLab

@Suite struct LabCommandTests {
    @Test func upTakesNodesAndName() throws {
        let command = try Clusterup.parseAsRoot(["lab", "up", "--nodes", "5", "--name", "vrrp"])
        let up = try #require(command as? Clusterup.Lab.Up)
        #expect(up.nodes == 5)
        #expect(up.lab.name == "vrrp")
    }

    @Test func defaultsAreThreeNodesNamedLab() throws {
        let up = try #require(try Clusterup.parseAsRoot(["lab", "up"]) as? Clusterup.Lab.Up)
        #expect(up.nodes == 3)
        #expect(up.lab.name == "lab")
    }

    @Test func nodeStopTakesAMode() throws {
        let stop = try #require(try Clusterup.parseAsRoot(["lab", "node", "stop", "node2", "--mode", "kill"])
            as? Clusterup.Lab.Node.Stop)
        #expect(stop.node == "node2")
        #expect(stop.mode == .kill)
    }

    @Test func unknownStopModeIsRejected() {
        #expect(throws: (any Error).self) { try Clusterup.parseAsRoot(["lab", "node", "stop", "node2", "--mode", "nap"]) }
    }

    @Test func statusSpeaksJSON() throws {
        let status = try #require(try Clusterup.parseAsRoot(["lab", "status", "--output", "json"]) as? Clusterup.Lab.Status)
        #expect(status.output == .json)
    }

    @Test func linkCutAndRestoreAreSubcommands() throws {
        #expect(try Clusterup.parseAsRoot(["lab", "link", "cut", "node1"]) is Clusterup.Lab.Link.Cut)
        #expect(try Clusterup.parseAsRoot(["lab", "link", "restore", "node1"]) is Clusterup.Lab.Link.Restore)
    }

    @Test func nodeExecTakesTheCommandAfterTheTerminator() throws {
        let exec = try #require(try Clusterup.parseAsRoot(["lab", "node", "exec", "node1", "--", "ip", "-br", "addr"])
            as? Clusterup.Lab.Node.Exec)
        #expect(exec.node == "node1")
        #expect(exec.command == ["ip", "-br", "addr"])
    }

    @Test func nodeExecNeedsACommand() {
        #expect(throws: (any Error).self) { try Clusterup.parseAsRoot(["lab", "node", "exec", "node1"]) }
    }

    @Test func tableAlignsColumns() {
        #expect(table([["A", "BB", "C"], ["long", "x", "y"]]) == "A     BB  C\nlong  x   y")
    }
}
