import Testing
import ClusterupCore
@testable import ClusterupSSH

@Test func ClusterupSSHLinks() {
    #expect(ClusterupError.badInput("x").exitCode == 2)
}
