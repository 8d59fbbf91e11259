import CLibSSH2
import ClusterupCore
import Foundation

/// One authenticated SSH connection to one host, on libssh2; several channels (commands, SFTP)
/// are opened on it one after another.
///
/// Every method BLOCKS the calling thread (network waits are poll(2) calls with deadlines).
/// Call it from a dedicated thread, never from a Swift concurrency task on the cooperative pool.
///
/// Thread safety: `@unchecked Sendable` because all access to the libssh2 session goes through
/// `lock` (libssh2 sessions must not be used by two threads at once). Calls from several threads
/// are therefore serialised, not parallel; use one connection per thread for parallelism.
public final class SSHConnection: @unchecked Sendable {
    public let target: SSHTarget
    let lock = NSLock()
    let core: SessionCore
    /// The jump host tunnel this connection runs through, kept alive as long as it is.
    private let tunnel: JumpTunnel?
    var sftp: OpaquePointer?
    private var closed = false
    /// Where the time of connecting went (for `exec --timings` and diagnosing slow hosts).
    public private(set) var timings = ConnectionTimings()
    /// What the key exchange settled on; set once the handshake is done.
    public private(set) var algorithms: NegotiatedAlgorithms?

    private init(target: SSHTarget, core: SessionCore, tunnel: JumpTunnel?) {
        self.target = target
        self.core = core
        self.tunnel = tunnel
    }

    deinit { close() }

    /// Connects (directly or through `target.jumps`), checks the host key, authenticates.
    public static func connect(_ target: SSHTarget) throws -> SSHConnection {
        try LibSSH2.initialize()
        var stopwatch = Stopwatch()
        guard let lastJump = target.jumps.last else {
            let deadline = Deadline(seconds: target.connectTimeout)
            let socket = try TCP.connect(host: target.address, port: target.port, deadline: deadline, name: target.name)
            return try establish(target, socket: socket, tunnel: nil, stopwatch: &stopwatch)
        }
        // `a,b` → reach b through a, then the target through b.
        var hop = lastJump
        hop.jumps = Array(target.jumps.dropLast())
        let jump = try connect(hop)
        let tunnel = try JumpTunnel.open(through: jump, to: target)
        return try establish(target, socket: tunnel.targetSocket, tunnel: tunnel, stopwatch: &stopwatch)
    }

    private static func establish(_ target: SSHTarget, socket: Int32, tunnel: JumpTunnel?,
                                  stopwatch: inout Stopwatch) throws -> SSHConnection {
        let connectTime = stopwatch.lap()
        let core: SessionCore
        do {
            core = try SessionCore(socket: socket)
        } catch {
            Glibc.close(socket)
            tunnel?.stop()
            throw error
        }
        let connection = SSHConnection(target: target, core: core, tunnel: tunnel)
        connection.timings.connect = connectTime
        let deadline = Deadline(seconds: target.connectTimeout)
        do {
            try connection.handshake(deadline)
            connection.timings.handshake = stopwatch.lap()
            connection.algorithms = NegotiatedAlgorithms.read(core.raw)
            try connection.verifyHostKey()
            connection.timings.hostKeyCheck = stopwatch.lap()
            try connection.authenticate(deadline)
            connection.timings.authentication = stopwatch.lap()
        } catch is DeadlineExceeded {
            connection.close()
            throw ClusterupError.remote(
                "SSH handshake with \(target.address):\(target.port) timed out after \(String(format: "%g", target.connectTimeout))s",
                host: target.name, hint: "is it an SSH server? raise ssh.connect_timeout if the host is just slow")
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    private func handshake(_ deadline: Deadline) throws {
        let knownHosts = KnownHosts(files: target.knownHostsFiles)
        let algorithms = knownHosts.preferredAlgorithms(session: core.raw, host: knownHostsName, port: target.port)
        libssh2_session_method_pref(core.raw, LIBSSH2_METHOD_HOSTKEY, algorithms)
        libssh2_session_method_pref(core.raw, LIBSSH2_METHOD_KEX, Self.keyExchangeAlgorithms.joined(separator: ","))
        let rc = try core.retry(deadline) { libssh2_session_handshake(core.raw, core.socket) }
        guard rc == 0 else {
            throw libssh2Failure("SSH handshake with \(target.address):\(target.port) failed",
                                 hint: "is an SSH server listening there? it may also offer only algorithms libssh2 \(libssh2Version) lacks")
        }
    }

    /// Key exchange methods in the order offered; the server takes the first one it also allows.
    /// ECDH on P-256 comes first because OpenSSH servers compute it with OpenSSL's optimised code,
    /// whereas their curve25519 is OpenSSH's own portable reference code: measured on OpenSSH 9.2,
    /// a login costs the server about 5 ms less CPU with P-256 (README, "Exec"). Both are at the
    /// 128-bit level and in OpenSSH's default lists; a server that disables P-256 gets curve25519.
    static let keyExchangeAlgorithms = [
        "ecdh-sha2-nistp256", "curve25519-sha256", "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256",
    ]

    var libssh2Version: String { String(cString: libssh2_version(0)) }

    /// OpenSSH looks host names up in known_hosts in lower case.
    private var knownHostsName: String { target.address.lowercased() }

    private func verifyHostKey() throws {
        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(core.raw, &length, &type),
              let key = HostKey(blob: Array(UnsafeRawBufferPointer(start: raw, count: length))),
              let hash = libssh2_hostkey_hash(core.raw, LIBSSH2_HOSTKEY_HASH_SHA256) else {
            throw ClusterupError.remote("the server sent no usable host key", host: target.name)
        }
        let digest = Array(UnsafeRawBufferPointer(start: hash, count: 32))
        let fingerprint = "\(key.bits) \(HostKey.formatSHA256(digest)) (\(key.typeLabel))"
        let endpoint = KnownHosts.entryName(host: knownHostsName, port: target.port)

        switch KnownHosts(files: target.knownHostsFiles).verdict(session: core.raw, host: knownHostsName, port: target.port, key: key.blob, keyType: type) {
        case .match:
            return
        case .mismatch(let file, let line):
            let place = line.map { "\(file):\($0)" } ?? file
            throw ClusterupError.remote(
                "HOST KEY CHANGED for \(endpoint): the server offers \(fingerprint), but \(place) records a different \(key.typeLabel) key. "
                    + "Someone may be intercepting the connection, or the host was reinstalled. Refusing to connect.",
                host: target.name,
                hint: "if the change is expected, verify the new fingerprint on the host, remove the old entry with "
                    + "`ssh-keygen -R '\(endpoint)' -f \(file)`, then run again with --accept-new-host-keys "
                    + "(that flag never replaces a changed key by itself)")
        case .revoked(let file, let line):
            throw ClusterupError.remote(
                "host key of \(endpoint) (\(fingerprint)) is marked @revoked in \(file):\(line); refusing to connect",
                host: target.name, hint: "the host must get a new host key; ask whoever revoked it")
        case .unknown:
            guard target.acceptNewHostKeys else {
                throw ClusterupError.remote(
                    "host key of \(endpoint) is unknown: \(fingerprint)", host: target.name,
                    hint: "compare with `ssh-keygen -lf /etc/ssh/ssh_host_\(key.typeLabel.lowercased())_key.pub` on the host, "
                        + "then run again with --accept-new-host-keys to record it in \(target.knownHostsRecordFile)")
            }
            try KnownHosts.record(host: knownHostsName, port: target.port, key: key, in: target.knownHostsRecordFile)
        }
    }

    /// Closes the session and the tunnel under it. Safe to call twice.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        if let sftp {
            _ = try? core.retry(Deadline(seconds: 1)) { libssh2_sftp_shutdown(sftp) }
            self.sftp = nil
        }
        core.disconnectAndFree()
        tunnel?.stop()
    }

    /// Runs `body` with the session lock held and a check that the connection is still open.
    func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else {
            throw ClusterupError.local("SSH connection to \(target.endpoint) is already closed", at: target.name)
        }
        return try body()
    }
}
