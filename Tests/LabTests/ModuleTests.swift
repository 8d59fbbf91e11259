import Testing
import ClusterupCore
@testable import Lab

@Test func LabLinks() {
    #expect(ClusterupError.badInput("x").exitCode == 2)
}
