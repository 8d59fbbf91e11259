import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

/// `certs renew --expiring`: exactly the leaves within pki.renew_before, nothing else.
@Suite struct RenewExpiringTests {
    @Test func renewsOnlyWhatExpiresWithinRenewBefore() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let request = makeRequest(nodes: 2, directory: dir.pki)
        let generator = try PKIGenerator(request: request)
        _ = try generator.run(now: fixedNow)
        let day: TimeInterval = 86_400
        // One leaf renewed 100 days later expires 100 days after the others.
        _ = try generator.run(now: fixedNow + 100 * day, renew: ["apiserver@node2"])
        #expect(try generator.expiring(now: fixedNow + 10 * day).isEmpty)

        // Default leaf_validity 365d, renew_before 30d: at day 340 all but the renewed one are due.
        let later = fixedNow + 340 * day
        let due = try generator.expiring(now: later)
        let leaves = try PKIPlan(request: request).leaves.map(\.name)
        #expect(Set(due) == Set(leaves).subtracting(["apiserver@node2"]))

        // The inventory changed meanwhile (a new extra SAN): --expiring still renews only the due ones,
        // so apiserver@node2 (outdated, not expiring) is left to `certs gen`.
        let changed = try PKIGenerator(request: makeRequest(nodes: 2, directory: dir.pki, extraSANs: ["203.0.113.10"]))
        let report = try changed.run(now: later, renew: Set(due), only: Set(due))
        #expect(Set(report.issued.map(\.name)) == Set(due))
        #expect(report.issued.allSatisfy { !$0.newKey })
        #expect(try changed.expiring(now: later).isEmpty)
        let apiserver2 = openssl("x509", "-noout", "-text", "-in", dir.pki + "/nodes/node2/apiserver.crt").output
        #expect(!apiserver2.contains("203.0.113.10"))
        let apiserver1 = openssl("x509", "-noout", "-text", "-in", dir.pki + "/nodes/node1/apiserver.crt").output
        #expect(apiserver1.contains("203.0.113.10"))
    }
}
