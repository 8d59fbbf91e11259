import ArgumentParser
import Testing
@testable import ClusterupCLI
@testable import ClusterupLab

@Suite struct LabCommandTests {
    @Test func upTakesNodesAndName() throws {
        let command = try Clusterup.parseAsRoot(["lab", "up", "--nodes", "5", "--name", "vrrp"])
        let up = try #require(command as? Clusterup.LabUpCommand)
        #expect(up.nodes == 5)
        #expect(up.lab.name == "vrrp")
    }

    @Test func defaultsAreThreeNodesNamedLab() throws {
        let up = try #require(try Clusterup.parseAsRoot(["lab", "up"]) as? Clusterup.LabUpCommand)
        #expect(up.nodes == 3)
        #expect(up.lab.name == "lab")
        #expect(up.waitForAddressBlock == 0)
    }

    @Test func upWaitsForAnAddressBlockOnlyWhenAsked() throws {
        let up = try #require(try Clusterup.parseAsRoot(["lab", "up", "--wait-for-address-block", "90"]) as? Clusterup.LabUpCommand)
        #expect(up.waitForAddressBlock == 90)
        #expect(throws: (any Error).self) { try Clusterup.parseAsRoot(["lab", "up", "--wait-for-address-block", "-1"]) }
    }

    @Test func nodeStopTakesAMode() throws {
        let stop = try #require(try Clusterup.parseAsRoot(["lab", "node", "stop", "node2", "--mode", "kill"])
            as? Clusterup.LabNodeStopCommand)
        #expect(stop.node == "node2")
        #expect(stop.mode == .kill)
    }

    @Test func unknownStopModeIsRejected() {
        #expect(throws: (any Error).self) { try Clusterup.parseAsRoot(["lab", "node", "stop", "node2", "--mode", "nap"]) }
    }

    @Test func statusSpeaksJSON() throws {
        let status = try #require(try Clusterup.parseAsRoot(["lab", "status", "--output", "json"]) as? Clusterup.LabStatusCommand)
        #expect(status.output == .json)
    }

    @Test func linkCutAndRestoreAreSubcommands() throws {
        #expect(try Clusterup.parseAsRoot(["lab", "link", "cut", "node1"]) is Clusterup.LabLinkCutCommand)
        #expect(try Clusterup.parseAsRoot(["lab", "link", "restore", "node1"]) is Clusterup.LabLinkRestoreCommand)
    }

    @Test func nodeExecTakesTheCommandAfterTheTerminator() throws {
        let exec = try #require(try Clusterup.parseAsRoot(["lab", "node", "exec", "node1", "--", "ip", "-br", "addr"])
            as? Clusterup.LabNodeExecCommand)
        #expect(exec.node == "node1")
        #expect(exec.command == ["ip", "-br", "addr"])
    }

    @Test func nodeExecNeedsACommand() {
        #expect(throws: (any Error).self) { try Clusterup.parseAsRoot(["lab", "node", "exec", "node1"]) }
    }

    @Test func upAndGrowTakeARelease() throws {
        let up = try #require(try Clusterup.parseAsRoot(["lab", "up", "--release", "trixie", "--name", "rel13"]) as? Clusterup.LabUpCommand)
        #expect(up.release == "trixie" && up.lab.name == "rel13")
        #expect(try #require(try Clusterup.parseAsRoot(["lab", "up"]) as? Clusterup.LabUpCommand).release == nil)
        let grow = try #require(try Clusterup.parseAsRoot(["lab", "grow", "--nodes", "4", "--release", "12"]) as? Clusterup.LabGrowCommand)
        #expect(grow.release == "12" && grow.nodes == 4)
    }

    @Test func imagesListsByDefaultBuildsAndRemovesWithADryRun() throws {
        #expect(try Clusterup.parseAsRoot(["lab", "images"]) is Clusterup.LabImagesListCommand)
        let list = try #require(try Clusterup.parseAsRoot(["lab", "images", "list", "--output", "json"]) as? Clusterup.LabImagesListCommand)
        #expect(list.output == .json)
        let build = try #require(try Clusterup.parseAsRoot(["lab", "images", "build", "trixie", "--dry-run"]) as? Clusterup.LabImagesBuildCommand)
        #expect(build.release == "trixie" && build.dryRun)
        let remove = try #require(try Clusterup.parseAsRoot(["lab", "images", "remove", "trixie-node", "bookworm-pkgtest", "--dry-run"])
            as? Clusterup.LabImagesRemoveCommand)
        #expect(remove.names == ["trixie-node", "bookworm-pkgtest"] && remove.dryRun)
        #expect(throws: (any Error).self) { try Clusterup.parseAsRoot(["lab", "images", "remove"]) }
    }

    @Test func deployTakesSkipUnreachable() throws {
        let deploy = try #require(try Clusterup.parseAsRoot(["deploy", "lab.yml", "--skip-unreachable"]) as? Clusterup.DeployCommand)
        #expect(deploy.skipUnreachable)
        #expect(try #require(try Clusterup.parseAsRoot(["deploy", "lab.yml"]) as? Clusterup.DeployCommand).skipUnreachable == false)
    }

    @Test func tableAlignsColumns() {
        #expect(table([["A", "BB", "C"], ["long", "x", "y"]]) == "A     BB  C\nlong  x   y")
    }
}
