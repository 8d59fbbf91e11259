import Foundation
import Testing
@testable import ClusterupCLI

/// Deploy refuses a clusterup-vrrpd that needs the Swift runtime: it reads the ELF's DT_NEEDED.
@Suite struct ELFFileTests {
    @Test func listsTheLibrariesAProgramNeeds() throws {
        let needed = try #require(ELFFile.neededLibraries("/bin/ls"))
        #expect(needed.contains("libc.so.6"))
    }

    @Test func aSwiftProgramLinkedDynamicallyIsNotStatic() throws {
        // This test binary links the Swift runtime dynamically.
        let me = try #require(Bundle.main.executablePath ?? CommandLine.arguments.first)
        let needed = try #require(ELFFile.neededLibraries(me))
        #expect(needed.contains { $0.hasPrefix("libswiftCore") })
        #expect(!VRRPDaemonBinary.isStatic(me))
    }

    @Test func aFileThatIsNotELFHasNoLibraryList() {
        #expect(ELFFile.neededLibraries("/etc/hostname") == nil)
    }
}
