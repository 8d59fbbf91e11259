import ClusterupCore
import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a probe in flight waits for next.
enum ProbeStep {
    /// Poll the socket for these events (`POLLIN`, `POLLOUT`), then call `advance`.
    case wait(Int16)
    case done(ProbeOutcome)
}

/// One probe over its own non-blocking socket, driven by the prober's poll loop. Lives on the
/// prober's thread only.
protocol ProbeSession: AnyObject {
    var fd: Int32 { get }
    func advance(revents: Int16) -> ProbeStep
    /// Frees everything; the socket is reset, not shut down politely.
    func close()
}

/// A non-blocking connect under way.
enum SocketConnect {
    /// A socket with a connect started to `address`, and how the connect went at once.
    static func open(_ address: sockaddr_in) -> (fd: Int32, step: ProbeStep) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return (fd, .done(.failure("socket: \(String(cString: strerror(errno)))"))) }
        var target = address
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == 0 { return (fd, .done(.success)) }
        if errno == EINPROGRESS { return (fd, .wait(Int16(POLLOUT))) }
        return (fd, .done(.failure("connect: \(String(cString: strerror(errno)))")))
    }

    /// The outcome of a connect once poll reported the socket.
    static func settled(_ fd: Int32) -> ProbeOutcome {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0 ? .success : .failure("connect: \(String(cString: strerror(error)))")
    }

    /// Close with RST (linger 0): a probe every few ms must not fill the port range with TIME_WAIT.
    static func reset(_ fd: Int32) {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(fd)
    }
}

/// Succeeds when the TCP handshake completes.
final class TCPConnectSession: ProbeSession {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    func advance(revents: Int16) -> ProbeStep { .done(SocketConnect.settled(fd)) }

    func close() { SocketConnect.reset(fd) }
}

/// Connect, TLS handshake verifying the server, `GET path`, success only on HTTP 200.
final class HTTPSSession: ProbeSession {
    enum Phase { case connecting, handshaking, writing, reading }

    let fd: Int32
    private let tls: TLSClient
    private let request: [UInt8]
    private let serverName: String
    private var ssl: OpaquePointer?
    private var phase = Phase.connecting
    private var written = 0
    private var response: [UInt8] = []

    init(fd: Int32, tls: TLSClient, request: [UInt8], serverName: String) {
        self.fd = fd
        self.tls = tls
        self.request = request
        self.serverName = serverName
    }

    /// Continues from the connect's first step (a connect to loopback may complete at once).
    func begin(after connect: ProbeStep) -> ProbeStep {
        switch connect {
        case .wait: return connect
        case .done(.success): return startTLS()
        case .done(let failure): return .done(failure)
        }
    }

    func advance(revents: Int16) -> ProbeStep {
        if phase == .connecting {
            let connected = SocketConnect.settled(fd)
            guard connected == .success else { return .done(connected) }
            return startTLS()
        }
        return drive()
    }

    private func startTLS() -> ProbeStep {
        guard let ssl = tls.session(fd: fd, serverName: serverName) else {
            return .done(.failure("TLS: \(TLSClient.errorText())"))
        }
        self.ssl = ssl
        phase = .handshaking
        return drive()
    }

    /// Runs the TLS state as far as the socket allows without blocking.
    private func drive() -> ProbeStep {
        while true {
            ERR_clear_error()
            switch phase {
            case .connecting:
                preconditionFailure("drive() before the connect settled")
            case .handshaking:
                let result = SSL_connect(ssl)
                guard result == 1 else { return wantOrFail(result, "TLS handshake") }
                phase = .writing
            case .writing:
                let result = request[written...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
                guard result > 0 else { return wantOrFail(result, "sending the request") }
                written += Int(result)
                if written == request.count { phase = .reading }
            case .reading:
                var buffer = [UInt8](repeating: 0, count: 4096)
                let result = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
                guard result > 0 else { return wantOrFail(result, "reading the response") }
                response += buffer[..<Int(result)]
                switch HTTPStatusLine.parse(response) {
                case .incomplete: continue
                case .status(200): return .done(.success)
                case .status(let code): return .done(.failure("HTTP \(code)"))
                case .malformed(let reason): return .done(.failure(reason))
                }
            }
        }
    }

    private func wantOrFail(_ result: Int32, _ what: String) -> ProbeStep {
        let savedErrno = errno
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wait(Int16(POLLIN))
        case SSL_ERROR_WANT_WRITE: return .wait(Int16(POLLOUT))
        case SSL_ERROR_ZERO_RETURN: return .done(.failure("\(what): the server closed the connection"))
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            return .done(.failure("\(what): " + (savedErrno == 0 ? "the server closed the connection" : String(cString: strerror(savedErrno)))))
        default:
            let verify = SSL_get_verify_result(ssl)
            if phase == .handshaking && verify != X509_V_OK {
                return .done(.failure("\(what): certificate verify failed: \(String(cString: X509_verify_cert_error_string(verify)))"))
            }
            return .done(.failure("\(what): \(TLSClient.errorText())"))
        }
    }

    func close() {
        // No close_notify: the probe is over and the socket is reset anyway.
        if let ssl { SSL_free(ssl) }
        ssl = nil
        SocketConnect.reset(fd)
    }
}

/// The client side of TLS shared by every probe: the CA to verify against and, when the server
/// wants one, a client certificate.
final class TLSClient: @unchecked Sendable {
    private let context: OpaquePointer

    init(_ probe: HTTPSProbe) throws(ClusterupError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .local("cannot create a TLS context: \(Self.errorText())") }
        self.context = context
        // Older versions are off in any current apiserver; refusing them keeps the probe honest.
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        guard SSL_CTX_load_verify_locations(context, probe.caFile, nil) == 1 else {
            throw .badInput("cannot load CA certificates from \(probe.caFile): \(Self.errorText())", at: "--probe-ca",
                            hint: "run `clusterup certs gen` (the default is ca.crt in the inventory's pki.directory), or pass --probe-ca FILE")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let certificate = probe.clientCertificate, let key = probe.clientKey {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw .badInput("cannot load the client certificate \(certificate): \(Self.errorText())", at: "--probe-cert")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw .badInput("cannot use the client key \(key) with \(certificate): \(Self.errorText())", at: "--probe-key",
                                hint: "pass the key that belongs to --probe-cert, readable by this user")
            }
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A client session on `fd` that accepts only a certificate for `serverName`: an IPv4
    /// literal must be an IP SAN, a DNS name a DNS SAN (and goes out as SNI).
    func session(fd: Int32, serverName: String) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        SSL_set_fd(ssl, fd)
        if ProbeTarget(host: serverName, port: 0).isIPv4Literal {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
        } else {
            SSL_set1_host(ssl, serverName)
            _ = serverName.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        SSL_set_connect_state(ssl)
        return ssl
    }

    /// The oldest error on this thread's OpenSSL queue, in words; clears the queue.
    static func errorText() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [UInt8](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}
