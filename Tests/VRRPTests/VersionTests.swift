import Testing
import VRRP

@Test func versionNumbersMatchTheRFCs() {
    #expect(VRRPVersion.v3.rawValue == 3)
    #expect(VRRPVersion.v2.rawValue == 2)
}
