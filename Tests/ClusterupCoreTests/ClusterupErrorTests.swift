import Testing
@testable import ClusterupCore

@Suite struct ClusterupErrorTests {
    @Test func badInputExitsTwo() {
        #expect(ClusterupError.badInput("x").exitCode == 2)
        #expect(ClusterupError.remote("x").exitCode == 1)
    }

    @Test func descriptionNamesLocationAndHint() {
        let error = ClusterupError.badInput("unknown key 'hots'", at: "inv.yml:3:1", hint: "did you mean 'hosts'?")
        #expect(error.description == "inv.yml:3:1: unknown key 'hots'\n  hint: did you mean 'hosts'?")
    }

    @Test func aPerHostLineCarriesTheMessageAndTheHintInParentheses() {
        #expect(explain(ClusterupError.remote("sudo: a password is required", host: "node1", hint: "set ssh.sudo")) == "sudo: a password is required (set ssh.sudo)")
        #expect(explain(ClusterupError.remote("timed out", host: "node1")) == "timed out")
        #expect(explain(CancellationError()) == String(describing: CancellationError()))
    }
}
