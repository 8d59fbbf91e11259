import Testing
import ClusterupCore
@testable import ClusterupPKI

@Test func ClusterupPKILinks() {
    #expect(ClusterupError.badInput("x").exitCode == 2)
}
