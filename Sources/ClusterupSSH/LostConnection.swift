import CLibSSH2
import ClusterupCore
import Foundation

extension ClusterupError.Code {
    /// The SSH connection went away under an operation: the host stopped, rebooted or was cut
    /// off, or its sshd dropped the session. The operation may have run in part.
    public static let connectionLost = ClusterupError.Code(
        "ssh.connection-lost",
        meaning: "the SSH connection was lost (host down or rebooted, or the network cut); when it is back, re-run to continue")
}

/// Whether a failed libssh2 call lost its connection: decided from libssh2's error code and the
/// socket's state, never from libssh2's wording (which changes between releases: 1.10 says
/// "Unexpected error" for a channel that could not open on a socket the peer had closed).
enum LostConnection {
    /// The state of the session's socket after a failed call.
    enum SocketState: Equatable, Sendable {
        /// Still connected (nothing, or data, waiting to be read).
        case open
        /// The peer closed it (end of file).
        case closedByPeer
        /// It failed with this errno (ECONNRESET, EPIPE, ETIMEDOUT...).
        case failed(Int32)
    }

    /// libssh2's codes for a transport that failed under it: the banner never came or could not
    /// be sent, a send or receive on the socket failed, or the peer disconnected.
    static let transportFailures: Set<Int32> = [
        LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_BANNER_SEND, LIBSSH2_ERROR_SOCKET_SEND,
        LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
    ]

    /// A transport code, or any failure on a socket that is no longer connected.
    static func isLost(code: Int32, socket: SocketState) -> Bool {
        transportFailures.contains(code) || socket != .open
    }

    /// Peeks at the socket without consuming or waiting: 0 bytes is the peer's end of file.
    static func state(of socket: Int32) -> SocketState {
        var byte: UInt8 = 0
        let n = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n > 0 { return .open }
        if n == 0 { return .closedByPeer }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .open
        case let error: return .failed(error)
        }
    }
}

extension SessionCore {
    /// libssh2's last error in words, and whether it lost the connection.
    var lastFailure: (message: String, lost: Bool) {
        let (code, message) = LibSSH2.lastError(raw)
        return (message, LostConnection.isLost(code: code, socket: LostConnection.state(of: socket)))
    }
}

extension SSHConnection {
    /// `what` failed with libssh2's last error: a remote error naming the host, coded
    /// `.connectionLost` when the connection went away.
    func libssh2Failure(_ what: String, hint: String? = nil) -> ClusterupError {
        let (message, lost) = core.lastFailure
        var error = ClusterupError.remote("\(what): \(message)", host: target.name, hint: hint)
        if lost { error.code = .connectionLost }
        return error
    }
}
