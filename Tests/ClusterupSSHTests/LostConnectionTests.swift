import CLibSSH2
import ClusterupCore
import Foundation
import Testing
@testable import ClusterupSSH

/// A lost connection is told by libssh2's error code and the socket's state, not by wording.
@Suite struct LostConnectionRuleTests {
    @Test(arguments: [LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_DISCONNECT,
                      LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_BANNER_SEND])
    func aTransportFailureIsALostConnectionWhateverTheSocketSays(code: Int32) {
        #expect(LostConnection.isLost(code: code, socket: .open))
    }

    @Test(arguments: [LIBSSH2_ERROR_CHANNEL_FAILURE, LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SFTP_PROTOCOL, LIBSSH2_ERROR_SOCKET_NONE])
    func anyOtherFailureOnAnOpenSocketIsNot(code: Int32) {
        #expect(!LostConnection.isLost(code: code, socket: .open))
    }

    @Test func anyFailureOnASocketThePeerClosedIsALostConnection() {
        // libssh2 1.10 calls a channel it could not open on such a socket an "Unexpected error".
        #expect(LostConnection.isLost(code: LIBSSH2_ERROR_CHANNEL_FAILURE, socket: .closedByPeer))
        #expect(LostConnection.isLost(code: LIBSSH2_ERROR_SOCKET_NONE, socket: .failed(ECONNRESET)))
    }

    func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw POSIXError(.EMFILE) }
        return (fds[0], fds[1])
    }

    @Test func aConnectedSocketIsOpenWithOrWithoutDataWaiting() throws {
        let (ours, theirs) = try socketPair()
        defer { close(ours); close(theirs) }
        #expect(LostConnection.state(of: ours) == .open)
        _ = write(theirs, "x", 1)
        #expect(LostConnection.state(of: ours) == .open)
        var byte: UInt8 = 0
        #expect(read(ours, &byte, 1) == 1, "peeking consumed nothing")
    }

    @Test func aSocketWhosePeerClosedIsClosedByPeer() throws {
        let (ours, theirs) = try socketPair()
        defer { close(ours) }
        close(theirs)
        #expect(LostConnection.state(of: ours) == .closedByPeer)
    }
}

@Suite(.startsSSHD)
struct LostConnectionTests {
    @Test func aSessionKilledUnderACommandIsALostConnectionThenAndAfter() throws {
        try withConnection { _, _, connection in
            // The shell's parent is sshd's process for this session: killing it drops the TCP connection.
            let during = try #require(throws: ClusterupError.self) { try connection.run("kill -KILL $PPID; sleep 5", timeout: 10) }
            #expect(during.code == .connectionLost, "\(during)")
            let after = try #require(throws: ClusterupError.self) { try connection.run("true", timeout: 5) }
            #expect(after.code == .connectionLost, "\(after)")
        }
    }

    @Test func aCommandThatPrintsASocketErrorIsNotALostConnection() throws {
        try withConnection { _, _, connection in
            let error = try #require(throws: ClusterupError.self) { try connection.check("echo 'curl: (56) Connection reset by peer' >&2; exit 7") }
            #expect(error.message.contains("Connection reset by peer"))
            #expect(error.code == nil)
        }
    }

    @Test func aTimeoutIsNotALostConnection() throws {
        try withConnection { _, _, connection in
            let error = try #require(throws: ClusterupError.self) { try connection.run("sleep 5", timeout: 0.3) }
            #expect(error.code == nil)
        }
    }
}
