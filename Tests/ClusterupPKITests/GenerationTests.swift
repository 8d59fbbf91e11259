import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

/// `certs gen` against a real directory, checked with the openssl command.
@Suite struct GenerationTests {
    func generate(_ request: PKIRequest, now: Date = Date()) throws -> PKIRunReport {
        try PKIGenerator(request: request).run(now: now)
    }

    @Test func opensslVerifiesEveryLeafAgainstItsCA() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let request = makeRequest(nodes: 2, directory: dir.pki)
        _ = try generate(request)
        let plan = try PKIPlan(request: request)
        for leaf in plan.leaves {
            let ca = dir.pki + "/" + leaf.signingAuthority!.certificatePath
            let result = openssl("verify", "-CAfile", ca, dir.pki + "/" + leaf.certificatePath)
            #expect(result.status == 0 && result.output.hasSuffix(": OK\n"), "\(leaf.name): \(result.output)")
        }
        // And not against another CA.
        let wrong = openssl("verify", "-CAfile", dir.pki + "/etcd/ca.crt", dir.pki + "/nodes/node1/apiserver.crt")
        #expect(wrong.status != 0)
    }

    @Test func opensslShowsTheSANsUsagesAndCAConstraints() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 1, directory: dir.pki, extraSANs: ["203.0.113.10"]))
        func text(_ path: String) -> String { openssl("x509", "-noout", "-text", "-in", dir.pki + "/" + path).output }

        let apiserver = text("nodes/node1/apiserver.crt")
        for san in ["DNS:node1", "DNS:kubernetes.default.svc.cluster.local", "DNS:k8s.example.internal",
                    "IP Address:10.96.0.1", "IP Address:198.51.100.62", "IP Address:198.51.100.11", "IP Address:203.0.113.10"] {
            #expect(apiserver.contains(san), "\(san)")
        }
        #expect(apiserver.contains("X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n"))
        #expect(apiserver.contains("X509v3 Key Usage: critical\n                Digital Signature\n"))
        #expect(apiserver.contains("Signature Algorithm: ecdsa-with-SHA256"))
        #expect(apiserver.contains("Version: 3 (0x2)"))
        #expect(apiserver.contains("X509v3 Subject Key Identifier"))
        #expect(apiserver.contains("X509v3 Authority Key Identifier"))

        #expect(text("nodes/node1/etcd/peer.crt").contains("TLS Web Server Authentication, TLS Web Client Authentication"))
        #expect(text("nodes/node1/etcd/server.crt").contains("IP Address:0:0:0:0:0:0:0:1"))
        #expect(text("nodes/node1/etcd/healthcheck-client.crt").contains("Usage: \n                TLS Web Client Authentication\n"))
        #expect(text("admin.crt").contains("Subject: O = system:masters, CN = kubernetes-admin"))

        let ca = text("etcd/ca.crt")
        #expect(ca.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"))
        #expect(ca.contains("X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign"))
    }

    @Test func serialsAreRandomPositiveAndAtLeast128Bits() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 1, directory: dir.pki))
        var serials = Set<String>()
        for path in ["ca.crt", "etcd/ca.crt", "nodes/node1/apiserver.crt", "admin.crt"] {
            let serial = openssl("x509", "-noout", "-serial", "-in", dir.pki + "/" + path).output
                .replacingOccurrences(of: "serial=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(serial.count == 40, "\(path): \(serial)")  // 20 octets in hex
            #expect(Int(String(serial.prefix(1)), radix: 16)! < 8)  // high bit clear: positive
            serials.insert(serial)
        }
        #expect(serials.count == 4)
    }

    @Test func opensslReadsEveryKey() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 1, directory: dir.pki))
        let keys = snapshot(dir.pki).keys.filter { $0.hasSuffix(".key") }
        #expect(keys.count == 3 + 7 + 3 + 1)
        for key in keys {
            let result = openssl("pkey", "-noout", "-in", dir.pki + "/" + key)
            #expect(result.status == 0, "\(key): \(result.output)")
            // PKCS#8, unencrypted.
            #expect(String(decoding: snapshot(dir.pki)[key]!.contents, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        }
        #expect(openssl("pkey", "-pubin", "-noout", "-in", dir.pki + "/sa.pub").status == 0)
        let fromKey = openssl("pkey", "-pubout", "-in", dir.pki + "/sa.key").output
        #expect(fromKey == String(decoding: snapshot(dir.pki)["sa.pub"]!.contents, as: UTF8.self))
    }

    @Test func rsaKeysHaveTheRequestedSize() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var request = makeRequest(nodes: 1, directory: dir.pki, algorithm: .rsa2048)
        request.nodes[0].roles = [.etcd]
        _ = try generate(request)
        let text = openssl("x509", "-noout", "-text", "-in", dir.pki + "/nodes/node1/etcd/server.crt").output
        #expect(text.contains("Public-Key: (2048 bit)"))
        #expect(text.contains("sha256WithRSAEncryption"))
        #expect(text.contains("Digital Signature, Key Encipherment"))
        #expect(openssl("verify", "-CAfile", dir.pki + "/etcd/ca.crt", dir.pki + "/nodes/node1/etcd/server.crt").status == 0)
    }

    @Test func keysAndKubeconfigsAre0600CertificatesAre0644DirectoriesAre0700() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 1, directory: dir.pki))
        for (path, stamp) in snapshot(dir.pki) {
            let secret = path.hasSuffix(".key") || path.hasSuffix(".conf")
            #expect(stamp.mode == (secret ? 0o600 : 0o644), "\(path)")
        }
        for directory in ["", "/etcd", "/nodes", "/nodes/node1", "/nodes/node1/etcd"] {
            var info = stat()
            #expect(stat(dir.pki + directory, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700, "\(directory)")
        }
    }

    @Test func looseDirectoryModesAreTightenedWithoutTouchingFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let request = makeRequest(nodes: 1, directory: dir.pki)
        _ = try generate(request)
        chmod(dir.pki + "/nodes/node1", 0o755)
        let before = snapshot(dir.pki)
        let report = try generate(request)
        #expect(report.warnings == ["\(dir.pki)/nodes/node1 was readable by others; restricted it to 0700"])
        var info = stat()
        #expect(stat(dir.pki + "/nodes/node1", &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(snapshot(dir.pki) == before)
    }

    @Test func kubeconfigsEmbedAClientCertificateTheCAVerifies() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 1, directory: dir.pki))
        let yaml = String(decoding: snapshot(dir.pki)["scheduler.conf"]!.contents, as: UTF8.self)
        #expect(yaml.contains("server: https://198.51.100.62:8443\n"))
        #expect(yaml.contains("current-context: system:kube-scheduler@demo\n"))
        func embedded(_ field: String) throws -> Data {
            let line = try #require(yaml.split(separator: "\n").first { $0.contains(field + ":") })
            return try #require(Data(base64Encoded: String(line.split(separator: " ").last!)))
        }
        let clientPath = dir.path + "/client.crt", caPath = dir.path + "/ca.crt"
        try embedded("client-certificate-data").write(to: URL(fileURLWithPath: clientPath))
        try embedded("certificate-authority-data").write(to: URL(fileURLWithPath: caPath))
        #expect(try embedded("client-key-data") == snapshot(dir.pki)["scheduler.key"]!.contents)
        #expect(openssl("verify", "-CAfile", caPath, clientPath).status == 0)
        #expect(openssl("x509", "-noout", "-subject", "-in", clientPath).output == "subject=CN = system:kube-scheduler\n")
    }

    @Test func aSecondRunLeavesEveryFileByteIdenticalWithTheSameMtime() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let request = makeRequest(nodes: 3, directory: dir.pki)
        _ = try generate(request)
        let before = snapshot(dir.pki)
        let report = try generate(request)
        #expect(report.written.isEmpty && report.issued.isEmpty && report.createdAuthorities.isEmpty)
        #expect(snapshot(dir.pki) == before)
        #expect(before.count == 6 + 2 + 3 * 3 + 3 * 7 * 2)
    }

    @Test func addingANodeIssuesOnlyThatNodesCertificates() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 3, directory: dir.pki))
        let before = snapshot(dir.pki)
        let report = try generate(makeRequest(nodes: 4, directory: dir.pki))
        #expect(Set(report.issued.map(\.name)) == Set(try PKIPlan(request: makeRequest(nodes: 4)).leaves
            .filter { $0.node == "node4" }.map(\.name)))
        #expect(report.issued.allSatisfy { $0.reasons == [.missing] })
        #expect(report.written.allSatisfy { $0.hasPrefix("nodes/node4/") })
        let after = snapshot(dir.pki)
        for (path, stamp) in before { #expect(after[path] == stamp, "\(path) changed") }
    }

    @Test func aNewExtraSANReissuesOnlyTheApiserverCertificatesKeepingTheirKeys() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try generate(makeRequest(nodes: 2, directory: dir.pki))
        let before = snapshot(dir.pki)
        let report = try generate(makeRequest(nodes: 2, directory: dir.pki, extraSANs: ["api.example.com"]))
        #expect(report.issued.map(\.name).sorted() == ["apiserver@node1", "apiserver@node2"])
        #expect(report.issued.allSatisfy { $0.reasons == [.sansChanged(added: [.dnsName("api.example.com")], removed: [])] && !$0.newKey })
        #expect(Set(report.written) == ["nodes/node1/apiserver.crt", "nodes/node2/apiserver.crt"])
        #expect(snapshot(dir.pki)["nodes/node1/apiserver.key"] == before["nodes/node1/apiserver.key"])
        #expect(openssl("x509", "-noout", "-ext", "subjectAltName", "-in", dir.pki + "/nodes/node1/apiserver.crt").output.contains("DNS:api.example.com"))
    }

    @Test func renewReissuesKeepingKeysUnlessRotating() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: Date())
        let before = snapshot(dir.pki)
        let renewed = try generator.run(now: Date(), renew: ["etcd-peer"])
        #expect(Set(renewed.written) == ["nodes/node1/etcd/peer.crt"])
        let rotated = try generator.run(now: Date(), renew: ["admin.conf"], rotateKeys: true)
        #expect(Set(rotated.written) == ["admin.crt", "admin.key", "admin.conf"])
        let after = snapshot(dir.pki)
        #expect(after["nodes/node1/etcd/peer.key"] == before["nodes/node1/etcd/peer.key"])
        #expect(after["admin.key"]!.contents != before["admin.key"]!.contents)
        #expect(openssl("verify", "-CAfile", dir.pki + "/ca.crt", dir.pki + "/admin.crt").status == 0)
    }

    @Test func renewRefusesCAsAndUnknownNames() throws {
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: "/nonexistent"))
        #expect { try generator.run(now: Date(), renew: ["etcd/ca"]) } throws: {
            ($0 as? ClusterupError)?.message == "etcd/ca is a CA; renew re-issues leaves only"
        }
        #expect { try generator.run(now: Date(), renew: ["apiservr"]) } throws: {
            ($0 as? ClusterupError)?.kind == .badInput
        }
    }

    @Test func aLeafDueForRenewalIsReissuedByGen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: fixedNow)
        let report = try generator.run(now: fixedNow.addingTimeInterval(340 * 86_400))
        #expect(report.issued.count == 7 + 3)
        #expect(report.issued.allSatisfy { if case .dueForRenewal = $0.reasons.first { true } else { false } })
        #expect(report.createdAuthorities.isEmpty)
    }
}
