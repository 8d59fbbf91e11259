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

    /// One explainer for every command: a failure whose code has a meaning (a lost SSH connection)
    /// says it wherever it is reported, and the hint goes where the report's layout puts it.
    @Test func aCodesMeaningIsExplainedInEitherLayout() {
        var error = ClusterupError.remote("cannot open an SSH channel: Unexpected error", host: "node3", hint: "check sshd's MaxSessions")
        error.code = ClusterupError.Code("test.lost", meaning: "the connection was lost; re-run to continue")
        let lost = "cannot open an SSH channel: Unexpected error — the connection was lost; re-run to continue"
        #expect(explain(error) == lost + " (check sshd's MaxSessions)")
        #expect(explain(error, hint: .ownLine) == lost + "\n    hint: check sshd's MaxSessions")
        error.code = nil
        #expect(explain(error, hint: .ownLine) == "cannot open an SSH channel: Unexpected error\n    hint: check sshd's MaxSessions")
    }
}
