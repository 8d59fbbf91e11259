import ClusterupCore
import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a TLS server presented in its handshake: enough to tell which certificate file it serves.
public struct ServedCertificate: Sendable, Equatable, Codable {
    /// Upper-case hexadecimal without leading zeros (`SerialNumber.normalized`).
    public var serial: String
    public var issuer: String
    public var subject: String

    public init(serial: String, issuer: String, subject: String) {
        self.serial = SerialNumber.normalized(serial)
        self.issuer = issuer
        self.subject = subject
    }
}

/// Serial numbers as text: `openssl x509 -serial` pads to whole bytes (`serial=0A3F…`), OpenSSL's
/// BIGNUM printer does not; both are compared in one form.
public enum SerialNumber {
    /// `serial=00AB12` → `AB12`; nil when the text is not hexadecimal.
    public static func parse(_ text: String) -> String? {
        var value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.hasPrefix("serial=") { value = String(value.dropFirst("serial=".count)) }
        value = value.replacingOccurrences(of: ":", with: "")
        guard !value.isEmpty, value.allSatisfy(\.isHexDigit) else { return nil }
        return normalized(value)
    }

    public static func normalized(_ hex: String) -> String {
        let upper = hex.uppercased().drop { $0 == "0" }
        return upper.isEmpty ? "0" : String(upper)
    }
}

/// Reads the certificate a server presents, with a blocking TLS handshake (call it from a
/// dedicated thread, e.g. FanOut). The chain is not verified: the point is to see what is served,
/// also when it is wrong. A client certificate is sent when given (etcd's peer port asks for one).
public struct ServedCertificateReader: Sendable {
    public var clientCertificate: String?
    public var clientKey: String?
    public var timeout: Duration

    public init(clientCertificate: String? = nil, clientKey: String? = nil, timeout: Duration = .seconds(3)) {
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.timeout = timeout
    }

    public func read(host: String, port: Int) throws(ClusterupError) -> ServedCertificate {
        let target = ProbeTarget(host: host, port: port)
        guard !host.contains(":") else {
            throw .local("\(target): IPv6 endpoints are not read", hint: "the served-certificate check covers IPv4 addresses only")
        }
        let address = try Prober.resolve(target)
        // A server that closes first must not kill the process when the close_notify is written.
        signal(SIGPIPE, SIG_IGN)
        let fd = try connect(address, target: target)
        // Closed politely (unlike a probe's reset): one connection per endpoint, and the server
        // should see a complete handshake, not an error in its log.
        defer { close(fd) }

        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw .local("cannot create a TLS context: \(TLSClient.errorText())")
        }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        if let certificate = clientCertificate, let key = clientKey {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1,
                  SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw .local("cannot load the client certificate \(certificate): \(TLSClient.errorText())",
                             hint: "run `clusterup certs gen` so the local PKI has it")
            }
        }
        guard let ssl = SSL_new(context) else { throw .local("cannot create a TLS session: \(TLSClient.errorText())") }
        defer {
            SSL_shutdown(ssl)
            SSL_free(ssl)
        }
        SSL_set_fd(ssl, fd)
        if !target.isIPv4Literal {
            _ = host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        ERR_clear_error()
        let handshake = SSL_connect(ssl)
        // A server that rejects our client certificate still sent its own first: read it anyway.
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            let why = handshake == 1 ? "no certificate" : TLSClient.errorText()
            throw .remote("TLS handshake with \(target) failed: \(why)", host: host)
        }
        defer { X509_free(peer) }
        return ServedCertificate(serial: Self.serial(of: peer), issuer: Self.name(X509_get_issuer_name(peer)),
                                 subject: Self.name(X509_get_subject_name(peer)))
    }

    /// A blocking socket connected within the timeout, with the same timeout on reads and writes.
    private func connect(_ address: sockaddr_in, target: ProbeTarget) throws(ClusterupError) -> Int32 {
        let (fd, step) = SocketConnect.open(address)
        guard fd >= 0 else { throw .local("socket: \(String(cString: strerror(errno)))") }
        let milliseconds = Int32(timeout.milliseconds.rounded(.up))
        var outcome: ProbeOutcome = .success
        switch step {
        case .done(let result): outcome = result
        case .wait(let events):
            var poller = pollfd(fd: fd, events: events, revents: 0)
            outcome = poll(&poller, 1, milliseconds) == 1 ? SocketConnect.settled(fd) : .failure("connect: timed out")
        }
        if case .failure(let why) = outcome {
            SocketConnect.reset(fd)
            throw .remote("\(target): \(why)", host: target.host)
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
        var limit = timeval(tv_sec: Int(milliseconds / 1000), tv_usec: Int(milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func serial(of certificate: OpaquePointer) -> String {
        guard let number = ASN1_INTEGER_to_BN(X509_get_serialNumber(certificate), nil) else { return "?" }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return "?" }
        defer { CRYPTO_free(hex, #file, #line) }
        return String(cString: hex)
    }

    /// One line, in certificate order (`CN=etcd-ca`).
    static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, 0)  // XN_FLAG_COMPAT: "O=a, CN=b"
        var pointer: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
