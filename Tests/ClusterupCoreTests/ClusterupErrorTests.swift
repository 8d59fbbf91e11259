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
}
