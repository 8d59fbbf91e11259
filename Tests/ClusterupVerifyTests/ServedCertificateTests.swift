import ClusterupCore
import ClusterupPKI
import ClusterupVerify
import COpenSSL
import Foundation
import Testing
import TestSupport

/// The served-certificate check: the pure comparison with canned reads, and the TLS adapter
/// against an in-process OpenSSL server presenting certificates made by ClusterupPKI.
@Suite struct ServedCertificateTests {
    func inventory() -> Inventory {
        var inventory = Inventory(
            path: "/tmp/inventory.yml", cluster: "test", ssh: SSHSettings(),
            hosts: DemoInventory.hosts([DemoInventory.allRoles, DemoInventory.allRoles, [.etcd]]),
            pki: PKISettings(directory: "/tmp/pki"))
        inventory.vip = VIPSettings(address: "198.51.100.62")
        return inventory
    }

    @Test func serialsFromOpenSSLAndFromBignumsCompareEqual() {
        #expect(SerialNumber.parse("serial=00AB12") == "AB12")
        #expect(SerialNumber.parse("serial=ab12\n") == "AB12")
        #expect(SerialNumber.parse("0a:3f") == "A3F")
        #expect(SerialNumber.parse("unable to load certificate") == nil)
        #expect(SerialNumber.parse("serial=") == nil)
        #expect(ServedCertificate(serial: "0AB12", issuer: "CN=x", subject: "CN=y").serial == "AB12")
    }

    @Test func surveyReadsTheSerialBesideTheExpiry() {
        let survey = HostSurvey.parse("""
        @@certs
        /etc/kubernetes/pki/apiserver.crt\tnotAfter=Nov 18 05:51:20 2027 GMT\tserial=00C0FFEE
        /etc/kubernetes/pki/broken.crt\tunable to load certificate\tunable to load certificate
        /etc/kubernetes/pki/old.crt\tnotAfter=Nov 18 05:51:20 2027 GMT
        """)
        #expect(survey.certificates.map(\.serial) == ["C0FFEE", nil, nil])
        #expect(survey.certificates[1].notAfter == nil)
        #expect(survey.certificates[2].notAfter != nil)
    }

    @Test func endpointsFollowTheRoles() {
        let inventory = inventory()
        let endpoints = ServedEndpoints.plan(inventory, hosts: inventory.hosts)
        #expect(endpoints.map(\.description) == [
            "etcd client 198.51.100.11:2379", "etcd peer 198.51.100.11:2380", "apiserver 198.51.100.11:6443",
            "etcd client 198.51.100.12:2379", "etcd peer 198.51.100.12:2380", "apiserver 198.51.100.12:6443",
            "etcd client 198.51.100.13:2379", "etcd peer 198.51.100.13:2380",
            "apiserver via VIP 198.51.100.62:8443",
        ])
        #expect(endpoints.filter(\.wantsClientCertificate).map(\.port) == [2380, 2380, 2380])
        #expect(endpoints.last?.host == nil)
        #expect(endpoints[0].installedPath == "/etc/kubernetes/pki/etcd/server.crt")
        #expect(endpoints[1].installedPath == "/etc/kubernetes/pki/etcd/peer.crt")
        // A selection without lb hosts in the inventory has no VIP endpoint.
        var noLB = inventory
        noLB.hosts = noLB.hosts.map { var host = $0; host.roles.remove(.lb); return host }
        #expect(!ServedEndpoints.plan(noLB, hosts: noLB.hosts).contains { $0.kind == .apiserverViaVIP })
    }

    func installed(_ serials: [String: [String: String]]) -> [String: [String: String]] {
        serials.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ("/etc/kubernetes/pki/\($0.key)", $0.value) }) }
    }

    func served(_ serial: String) -> Result<ServedCertificate, ClusterupError> {
        .success(ServedCertificate(serial: serial, issuer: "CN=etcd-ca", subject: "CN=node"))
    }

    @Test func matchingServersPassAndAStaleOneIsNamed() {
        let inventory = inventory()
        let endpoints = ServedEndpoints.plan(inventory, hosts: [inventory.hosts[0], inventory.hosts[2]])
        let files = installed([
            "node1": ["etcd/server.crt": "A1", "etcd/peer.crt": "A2", "apiserver.crt": "A3"],
            "node3": ["etcd/server.crt": "C1", "etcd/peer.crt": "C2"],
        ])
        var reads: [ServedEndpoint: Result<ServedCertificate, ClusterupError>] = [:]
        for (endpoint, serial) in zip(endpoints, ["A1", "A2", "A3", "C1", "C2", "A3"]) { reads[endpoint] = served(serial) }
        let passing = ServedCertificateCheck.evaluate(endpoints, served: reads, installed: files)
        #expect(passing.map(\.host) == ["node1", "node3", nil])
        #expect(passing.allSatisfy { $0.ok })
        #expect(passing.allSatisfy { $0.check == ServedCertificateCheck.name })
        #expect(passing[2].detail.contains("node1's apiserver.crt"))

        // node3's peer port still presents the file it started with.
        reads[endpoints[4]] = served("0B0")
        let stale = ServedCertificateCheck.evaluate(endpoints, served: reads, installed: files)
        #expect(stale.map(\.ok) == [true, false, true])
        #expect(stale[1].detail.contains("etcd peer 198.51.100.13:2380 serves serial B0"))
        #expect(stale[1].detail.contains("installed etcd/peer.crt has C2"))
        #expect(!stale[1].detail.contains("etcd client"))
    }

    @Test func unreadableEndpointsAndUnsurveyedHostsFail() {
        let inventory = inventory()
        let endpoints = ServedEndpoints.plan(inventory, hosts: [inventory.hosts[0]])
        var reads: [ServedEndpoint: Result<ServedCertificate, ClusterupError>] = [:]
        reads[endpoints[0]] = .failure(.remote("198.51.100.11:2379: connect: Connection refused", host: "node1"))
        reads[endpoints[1]] = served("A2")
        reads[endpoints[2]] = served("A3")
        reads[endpoints[3]] = served("FF")
        let results = ServedCertificateCheck.evaluate(
            endpoints, served: reads, installed: installed(["node1": ["etcd/peer.crt": "A2", "apiserver.crt": "A3"]]))
        #expect(results.map(\.ok) == [false, false])
        #expect(results[0].detail.contains("Connection refused"))
        #expect(results[1].detail.contains("serves serial FF"))
        #expect(results[1].detail.contains("installed on no control-plane host surveyed (node1)"))

        let unsurveyed = ServedCertificateCheck.evaluate(endpoints, served: reads, installed: [:])
        #expect(unsurveyed[0].detail.contains("no survey of node1"))
    }

    @Test func installedSerialsComeFromSuccessfulSurveysOnly() {
        var survey = HostSurvey()
        survey.certificates = [.init(path: "/etc/kubernetes/pki/apiserver.crt", notAfter: Date(), serial: "AB"),
                               .init(path: "/etc/kubernetes/pki/x.crt", notAfter: nil, error: "bad")]
        let hosts = inventory().hosts
        let serials = ServedCertificateCheck.installedSerials([
            (hosts[0], .success(survey)), (hosts[1], .failure(.remote("down", host: "node2"))),
        ])
        #expect(serials == ["node1": ["/etc/kubernetes/pki/apiserver.crt": "AB"]])
    }

    // MARK: the adapter against a real handshake

    @Test func readsTheSerialAServerPresentsAndSendsAClientCertificateWhenAsked() async throws {
        let directory = NSTemporaryDirectory() + "clusterup-served-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let request = PKIRequest(
            clusterName: "demo",
            nodes: [.init(name: "node1", addresses: ["127.0.0.1"], roles: [.etcd, .controlPlane])],
            vipAddress: "198.51.100.62", settings: PKISettings(directory: directory))
        _ = try PKIGenerator(request: request).run(now: Date())
        let peer = "\(directory)/nodes/node1/etcd/peer"
        let client = "\(directory)/nodes/node1/etcd/healthcheck-client"

        let server = try TLSTestServer(certificate: peer + ".crt", key: peer + ".key",
                                       requireClientCA: "\(directory)/etcd/ca.crt")
        defer { server.stop() }
        let expected = try #require(SerialNumber.parse(opensslSerial(peer + ".crt")))

        let reader = ServedCertificateReader(clientCertificate: client + ".crt", clientKey: client + ".key")
        let presented = try await onThread { try reader.read(host: "127.0.0.1", port: server.port) }
        #expect(presented.serial == expected)
        #expect(presented.issuer == "CN=etcd-ca")
        #expect(presented.subject == "CN=node1")
        // The server finishes its side of the handshake after the client has read the certificate.
        for _ in 0..<200 where server.clientSubjects.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.clientSubjects.withLock { $0 } == ["CN=kube-etcd-healthcheck-client"])

        // The check end to end over the reads of two endpoints, one of them stale.
        let endpoint = ServedEndpoint(kind: .etcdPeer, host: "node1", address: "127.0.0.1", port: server.port,
                                      installedPath: "/etc/kubernetes/pki/etcd/peer.crt")
        let reads = await ServedCertificateReader.readAll([endpoint], client: (client + ".crt", client + ".key"))
        let ok = ServedCertificateCheck.evaluate([endpoint], served: reads,
                                                 installed: ["node1": [endpoint.installedPath: expected]])
        #expect(ok.map(\.ok) == [true])
        let stale = ServedCertificateCheck.evaluate([endpoint], served: reads,
                                                    installed: ["node1": [endpoint.installedPath: "1234"]])
        #expect(stale.map(\.ok) == [false])
    }

    @Test func aClosedPortIsAnErrorNamingTheEndpoint() async throws {
        let port = try TLSTestServer.unusedPort()
        let reader = ServedCertificateReader(timeout: .seconds(1))
        let error = await #expect(throws: ClusterupError.self) {
            try await onThread { try reader.read(host: "127.0.0.1", port: port) }
        }
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }

    func opensslSerial(_ path: String) -> String {
        (try? ProcessRunner.run("/usr/bin/openssl", ["x509", "-noout", "-serial", "-in", path]))?.stdout ?? ""
    }
}

/// Runs a blocking call on its own thread, off the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A TLS server on 127.0.0.1 for the adapter tests: accepts, completes the handshake (requiring
/// a client certificate of `requireClientCA` when given), records the client's subject, closes.
final class TLSTestServer: @unchecked Sendable {
    let port: Int
    let clientSubjects = Locked<[String]>([])
    private let listener: Int32
    private let context: OpaquePointer
    private let done = DispatchSemaphore(value: 0)

    init(certificate: String, key: String, requireClientCA: String?) throws {
        guard let context = SSL_CTX_new(TLS_server_method()),
              SSL_CTX_use_certificate_chain_file(context, certificate) == 1,
              SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            throw ClusterupError.local("test server: cannot load \(certificate)")
        }
        if let ca = requireClientCA {
            SSL_CTX_load_verify_locations(context, ca, nil)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        self.context = context
        (listener, port) = try Self.listen()
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && Glibc.listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ClusterupError.local("test server: cannot listen") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port nothing listens on: bound, then closed.
    static func unusedPort() throws -> Int {
        let (fd, port) = try listen()
        close(fd)
        return port
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { break }
            let ssl = SSL_new(context)
            SSL_set_fd(ssl, connection)
            if SSL_accept(ssl) == 1 {
                if let peer = SSL_get1_peer_certificate(ssl) {
                    var buffer = [CChar](repeating: 0, count: 256)
                    X509_NAME_oneline(X509_get_subject_name(peer), &buffer, 256)
                    let oneline = String(cString: buffer)  // "/CN=..."
                    clientSubjects.withLock { $0.append(String(oneline.dropFirst())) }
                    X509_free(peer)
                }
                SSL_shutdown(ssl)
            }
            SSL_free(ssl)
            close(connection)
        }
        done.signal()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        done.wait()
        SSL_CTX_free(context)
    }
}
