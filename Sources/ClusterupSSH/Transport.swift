import CLibSSH2
import ClusterupCore
import Foundation

enum LibSSH2 {
    /// `libssh2_init` is not thread-safe; a Swift global is initialised exactly once, atomically.
    /// SIGPIPE is ignored at the same time: libssh2 writes to sockets whose peer may be gone, and
    /// that must be an error return, not the death of the whole process.
    private static let initResult: Int32 = {
        signal(SIGPIPE, SIG_IGN)
        return libssh2_init(0)
    }()

    static func initialize() throws {
        guard initResult == 0 else {
            throw ClusterupError.local("libssh2_init failed (\(initResult))", hint: "check the libssh2 and OpenSSL installation")
        }
    }

    /// The key exchange methods this libssh2 build implements (it depends on its crypto backend).
    static func supportedKeyExchanges() throws -> [String] {
        try initialize()
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else { return [] }
        defer { libssh2_session_free(session) }
        var list: UnsafeMutablePointer<UnsafePointer<CChar>?>? = nil
        let count = libssh2_session_supported_algs(session, LIBSSH2_METHOD_KEX, &list)
        guard count > 0, let list else { return [] }
        defer { libssh2_free(session, list) }
        return (0..<Int(count)).compactMap { list[$0].map { String(cString: $0) } }
    }

    static func lastError(_ session: OpaquePointer) -> (code: Int32, message: String) {
        var message: UnsafeMutablePointer<CChar>? = nil
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        return (code, message.map { String(cString: $0) } ?? "error \(code)")
    }
}

/// A point on the monotonic clock after which an operation gives up.
struct Deadline {
    let nanoseconds: UInt64

    init(seconds: Double) {
        nanoseconds = Self.now() + UInt64(max(0, seconds) * 1_000_000_000)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    var expired: Bool { Self.now() >= nanoseconds }

    /// Milliseconds left, for poll(2), capped so that we re-check state now and then.
    func pollMilliseconds(cap: Int32 = 1000) -> Int32 {
        let now = Self.now()
        guard nanoseconds > now else { return 0 }
        return Int32(min(UInt64(cap), (nanoseconds - now) / 1_000_000 + 1))
    }
}

/// Raised inside the transport when a deadline passes; callers turn it into an error that names
/// what timed out (connecting, or which command).
struct DeadlineExceeded: Error {}

enum TCP {
    /// Resolves and connects with a deadline (non-blocking connect + poll). The socket stays non-blocking.
    static func connect(host: String, port: Int, deadline: Deadline, name: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let gai = getaddrinfo(host, String(port), &hints, &list)
        guard gai == 0, let first = list else {
            throw ClusterupError.remote(
                "cannot resolve '\(host)': \(String(cString: gai_strerror(gai)))", host: name,
                hint: "check the host's address in the inventory (or HostName in ~/.ssh/config) and DNS")
        }
        defer { freeaddrinfo(list) }

        var lastErrno: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { lastErrno = errno; continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var result = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                while true {
                    let ready = poll(&pfd, 1, deadline.pollMilliseconds())
                    if ready > 0 { break }
                    if ready < 0 && errno != EINTR { break }
                    if deadline.expired { break }
                }
                if pfd.revents == 0 {
                    close(fd)
                    throw connectError(ETIMEDOUT, host: host, port: port, name: name)
                }
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if soError == 0 { result = 0 } else { errno = soError }
            }
            if result == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastErrno = errno
            close(fd)
        }
        throw connectError(lastErrno, host: host, port: port, name: name)
    }

    static func connectError(_ code: Int32, host: String, port: Int, name: String) -> ClusterupError {
        let endpoint = "\(host):\(port)"
        switch code {
        case ECONNREFUSED:
            return .remote("connection refused by \(endpoint)", host: name,
                           hint: "is sshd running and listening on port \(port)? check the port in the inventory")
        case ETIMEDOUT:
            return .remote("connection to \(endpoint) timed out", host: name,
                           hint: "is the host up and reachable (firewall)? raise ssh.connect_timeout if it is just slow")
        case EHOSTUNREACH, ENETUNREACH:
            return .remote("no route to \(endpoint)", host: name,
                           hint: "check the address and this machine's routes, or set ssh.bastion to go through a jump host")
        default:
            return .remote("cannot connect to \(endpoint): \(String(cString: strerror(code)))", host: name)
        }
    }
}

/// A libssh2 session in non-blocking mode over one socket, with the loop that turns each
/// EAGAIN into a poll(2) on the socket until a deadline. Not thread-safe: its owner serialises use.
final class SessionCore {
    let raw: OpaquePointer
    let socket: Int32

    init(socket: Int32) throws {
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            throw ClusterupError.local("libssh2_session_init failed (out of memory?)")
        }
        raw = session
        self.socket = socket
        libssh2_session_set_blocking(session, 0)
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on.
    func waitSocket(_ deadline: Deadline, cap: Int32 = 1000) throws {
        if deadline.expired { throw DeadlineExceeded() }
        let directions = libssh2_session_block_directions(raw)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var pfd = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&pfd, 1, deadline.pollMilliseconds(cap: cap))
        if deadline.expired { throw DeadlineExceeded() }
    }

    /// Repeats a libssh2 call returning an int until it stops saying EAGAIN.
    @discardableResult
    func retry(_ deadline: Deadline, _ call: () -> Int32) throws -> Int32 {
        while true {
            let rc = call()
            if rc != LIBSSH2_ERROR_EAGAIN { return rc }
            try waitSocket(deadline)
        }
    }

    /// Same for calls returning a pointer (nil + EAGAIN means "again").
    func retryPointer<T>(_ deadline: Deadline, _ call: () -> T?) throws -> T? {
        while true {
            if let value = call() { return value }
            if libssh2_session_last_errno(raw) != LIBSSH2_ERROR_EAGAIN { return nil }
            try waitSocket(deadline)
        }
    }

    var lastError: String { LibSSH2.lastError(raw).message }

    /// Best-effort goodbye, bounded so a dead peer cannot hang shutdown.
    func disconnectAndFree() {
        let deadline = Deadline(seconds: 1)
        _ = try? retry(deadline) { libssh2_session_disconnect_ex(raw, SSH_DISCONNECT_BY_APPLICATION, "bye", "") }
        _ = try? retry(deadline) { libssh2_session_free(raw) }
        close(socket)
    }
}
