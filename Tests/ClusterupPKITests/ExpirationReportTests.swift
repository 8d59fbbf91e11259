import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

@Suite struct ExpirationReportTests {
    @Test func residualTimeUsesKubeadmsShortUnits() {
        #expect(ExpirationReport.shortDuration(90) == "90s")
        #expect(ExpirationReport.shortDuration(300) == "5m")
        #expect(ExpirationReport.shortDuration(47 * 3600) == "47h")
        #expect(ExpirationReport.shortDuration(364 * 86_400 + 5) == "364d")
        #expect(ExpirationReport.shortDuration(3650 * 86_400) == "10y")
        #expect(ExpirationReport.shortDuration(-1) == "expired")
    }

    @Test func aFreshSetIsAllOkWithTheSigningCAOfEach() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: fixedNow)
        let report = try generator.checkExpiration(now: fixedNow.addingTimeInterval(86_400))
        #expect(!report.hasProblems)
        #expect(report.authorities.map(\.name) == ["ca", "etcd/ca", "front-proxy-ca"])
        #expect(report.certificates.first { $0.name == "etcd-peer@node1" }?.authority == "etcd/ca")
        #expect(report.certificates.first { $0.name == "admin.conf" }?.residualSeconds == 364 * 86_400)
        let table = report.table()
        #expect(table.hasPrefix("CERTIFICATE "))
        #expect(table.contains("\nadmin.conf "))
        #expect(table.contains("  364d  "))
        #expect(table.contains("\nCERTIFICATE AUTHORITY "))
    }

    @Test func missingInvalidAndOutdatedCertificatesAreFlagged() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: Date())
        try FileManager.default.removeItem(atPath: dir.pki + "/scheduler.crt")
        // A peer certificate from the wrong CA: apiserver-kubelet-client is signed by ca, not etcd/ca.
        try FileManager.default.removeItem(atPath: dir.pki + "/nodes/node1/etcd/peer.crt")
        try FileManager.default.removeItem(atPath: dir.pki + "/nodes/node1/etcd/peer.key")
        try FileManager.default.copyItem(atPath: dir.pki + "/nodes/node1/apiserver-kubelet-client.crt", toPath: dir.pki + "/nodes/node1/etcd/peer.crt")
        try FileManager.default.copyItem(atPath: dir.pki + "/nodes/node1/apiserver-kubelet-client.key", toPath: dir.pki + "/nodes/node1/etcd/peer.key")
        try FileManager.default.removeItem(atPath: dir.pki + "/admin.key")

        let outdated = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki, extraSANs: ["api.example.com"]))
        let report = try outdated.checkExpiration(now: Date())
        func status(_ name: String) -> (ExpirationReport.Status, String?)? {
            report.certificates.first { $0.name == name }.map { ($0.status, $0.detail) }
        }
        #expect(status("scheduler.conf")?.0 == .missing)
        #expect(status("etcd-peer@node1")?.0 == .invalid)
        #expect(status("etcd-peer@node1")?.1 == "unable to get local issuer certificate")
        #expect(status("admin.conf")?.0 == .invalid && status("admin.conf")?.1 == "key missing")
        #expect(status("apiserver@node1")?.0 == .outdated)
        #expect(status("apiserver@node1")?.1 == "SANs changed: +DNS:api.example.com")
        #expect(status("front-proxy-client@node1")?.0 == .ok)
        #expect(report.hasProblems)
    }

    @Test func anExpiredCertificateIsExpiredNotInvalid() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: fixedNow)
        let report = try generator.checkExpiration(now: fixedNow.addingTimeInterval(400 * 86_400))
        #expect(report.certificates.allSatisfy { $0.status == .expired })
        #expect(report.authorities.allSatisfy { $0.status == .ok })
        #expect(report.table().contains("  expired  "))
    }

    @Test func jsonOutputRoundTrips() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: Date())
        let report = try generator.checkExpiration(now: Date())
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let decoded = try decoder.decode(ExpirationReport.self, from: Data(report.json().utf8))
        #expect(decoded.certificates.map(\.name) == report.certificates.map(\.name))
        #expect(report.json().contains("\"status\" : \"ok\""))
    }
}
