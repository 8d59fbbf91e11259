import CLibSSH2
import ClusterupCore
import Foundation

/// A TCP connection to the target opened by a jump host (`direct-tcpip` channel), presented to the
/// target's own libssh2 session as an ordinary socket: one end of a socketpair, whose other end a
/// dedicated pump thread copies to and from the channel.
///
/// `@unchecked Sendable`: after `open`, only the pump thread touches the jump session and the
/// channel, and it holds the jump connection's lock for its whole life.
final class JumpTunnel: @unchecked Sendable {
    /// Given to the target session, which closes it; that EOF tells the pump to finish.
    let targetSocket: Int32
    private let pumpSocket: Int32
    private let jump: SSHConnection
    private let channel: OpaquePointer
    private let finished = DispatchSemaphore(value: 0)

    private init(jump: SSHConnection, channel: OpaquePointer, targetSocket: Int32, pumpSocket: Int32) {
        self.jump = jump
        self.channel = channel
        self.targetSocket = targetSocket
        self.pumpSocket = pumpSocket
    }

    static func open(through jump: SSHConnection, to target: SSHTarget) throws -> JumpTunnel {
        let channel: OpaquePointer
        do {
            channel = try jump.locked {
                let deadline = Deadline(seconds: target.connectTimeout)
                let opened = try jump.core.retryPointer(deadline) {
                    libssh2_channel_direct_tcpip_ex(jump.core.raw, target.address, Int32(target.port), "127.0.0.1", 22)
                }
                guard let opened else {
                    throw ClusterupError.remote(
                        "jump host \(jump.target.name) could not open a connection to \(target.address):\(target.port): \(jump.core.lastError)",
                        host: target.name,
                        hint: "check that \(jump.target.name) can reach the host and that its sshd allows forwarding "
                            + "(AllowTcpForwarding yes, PermitOpen)")
                }
                return opened
            }
        } catch is DeadlineExceeded {
            jump.close()
            throw ClusterupError.remote("jump host \(jump.target.name) did not open a connection to \(target.address):\(target.port) in time",
                                        host: target.name, hint: "check that the jump host can reach it")
        } catch {
            jump.close()
            throw error
        }

        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            jump.close()
            throw ClusterupError.local("socketpair failed: \(String(cString: strerror(errno)))")
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let tunnel = JumpTunnel(jump: jump, channel: channel, targetSocket: fds[0], pumpSocket: fds[1])
        let thread = Thread {
            jump.lock.lock()
            tunnel.pump()
            jump.lock.unlock()
            tunnel.finished.signal()
        }
        thread.name = "ssh-jump-\(jump.target.name)"
        thread.start()
        return tunnel
    }

    /// Waits for the pump to see the target session's socket close, then closes the jump connection.
    func stop() {
        _ = finished.wait(timeout: .now() + 3)
        jump.close()
    }

    private func pump() {
        let session = jump.core.raw
        var toChannel: [UInt8] = []
        var toTarget: [UInt8] = []
        var targetClosed = false
        var channelClosed = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let limit = 256 * 1024

        // Once the target session is gone, what it still sent gets a short grace to reach the jump
        // host; a jump host that stopped reading must not keep this thread (and `stop`) forever.
        var drainDeadline: Deadline? = nil
        while !(targetClosed && toChannel.isEmpty) && !(channelClosed && toTarget.isEmpty) {
            if targetClosed {
                if drainDeadline == nil { drainDeadline = Deadline(seconds: 2) }
                if drainDeadline!.expired { break }
            }
            var progressed = false
            if !targetClosed && toChannel.count < limit {
                let n = recv(pumpSocket, &buffer, buffer.count, 0)
                if n > 0 { toChannel += buffer[0..<n]; progressed = true }
                else if n == 0 || (errno != EAGAIN && errno != EINTR) { targetClosed = true; progressed = true }
            }
            if !toChannel.isEmpty && !channelClosed {
                let n = toChannel.withUnsafeBufferPointer { raw in
                    raw.withMemoryRebound(to: CChar.self) { libssh2_channel_write_ex(channel, 0, $0.baseAddress, $0.count) }
                }
                if n > 0 { toChannel.removeFirst(n); progressed = true }
                else if n != Int(LIBSSH2_ERROR_EAGAIN) { channelClosed = true; toChannel = [] }
            }
            if !channelClosed && toTarget.count < limit {
                let n = buffer.withUnsafeMutableBufferPointer { raw in
                    raw.withMemoryRebound(to: CChar.self) { libssh2_channel_read_ex(channel, 0, $0.baseAddress, $0.count) }
                }
                if n > 0 { toTarget += buffer[0..<n]; progressed = true }
                else if (n == 0 && libssh2_channel_eof(channel) != 0) || (n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN)) {
                    channelClosed = true
                    progressed = true
                }
            }
            if !toTarget.isEmpty {
                let n = toTarget.withUnsafeBufferPointer { send(pumpSocket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 { toTarget.removeFirst(n); progressed = true }
                else if n < 0 && errno != EAGAIN && errno != EINTR { targetClosed = true; toTarget = [] }
            }
            if progressed { continue }

            let directions = libssh2_session_block_directions(session)
            var jumpEvents = Int16(POLLIN)
            if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { jumpEvents |= Int16(POLLOUT) }
            var localEvents: Int16 = 0
            if !targetClosed && toChannel.count < limit { localEvents |= Int16(POLLIN) }
            if !toTarget.isEmpty { localEvents |= Int16(POLLOUT) }
            var fds = [pollfd(fd: pumpSocket, events: localEvents, revents: 0),
                       pollfd(fd: jump.core.socket, events: jumpEvents, revents: 0)]
            // Capped: libssh2 may hold buffered data that poll(2) cannot see.
            _ = poll(&fds, 2, 50)
        }
        shutdown(pumpSocket, Int32(SHUT_RDWR))
        close(pumpSocket)
        let deadline = Deadline(seconds: 1)
        _ = try? jump.core.retry(deadline) { libssh2_channel_send_eof(channel) }
        _ = try? jump.core.retry(deadline) { libssh2_channel_close(channel) }
        _ = try? jump.core.retry(deadline) { libssh2_channel_free(channel) }
    }
}
