import Testing
import ClusterupCore
@testable import ClusterupLab

@Test func labLinks() {
    #expect(ClusterupError.badInput("x").exitCode == 2)
}
