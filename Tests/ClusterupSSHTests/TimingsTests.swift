import ClusterupCore
import Foundation
import Testing
@testable import ClusterupSSH

@Suite struct LoginTimingsTests {
    func sample() -> LoginTimings {
        var connection = ConnectionTimings()
        connection.connect = .microseconds(400)
        connection.handshake = .milliseconds(12)
        connection.hostKeyCheck = .microseconds(550)
        connection.authentication = .milliseconds(30)
        var command = CommandTimings()
        command.channelOpen = .milliseconds(40)
        command.execStart = .milliseconds(3)
        command.output = .milliseconds(8)
        command.exit = .microseconds(250)
        return LoginTimings(connection: connection, command: command, algorithms: NegotiatedAlgorithms(
            keyExchange: "ecdh-sha2-nistp256", hostKey: "ssh-ed25519", cipher: "aes128-ctr", mac: "hmac-sha2-256"))
    }

    @Test func jsonNamesEveryPhaseInOrderInMillisecondsWithTheTotal() {
        let json = sample().json
        #expect(json == .object([
            ("connect_ms", .double(0.4)), ("handshake_ms", .double(12)), ("host_key_check_ms", .double(0.6)),
            ("authentication_ms", .double(30)), ("channel_open_ms", .double(40)), ("exec_start_ms", .double(3)),
            ("output_ms", .double(8)), ("exit_ms", .double(0.3)), ("total_ms", .double(94.2)),
        ]))
    }

    @Test func algorithmsAreReportedByTheirProtocolNames() {
        #expect(sample().algorithmsJSON == .object([
            ("kex", .string("ecdh-sha2-nistp256")), ("host_key", .string("ssh-ed25519")),
            ("cipher", .string("aes128-ctr")), ("mac", .string("hmac-sha2-256")),
        ]))
        var unknown = sample()
        unknown.algorithms = nil
        #expect(unknown.algorithmsJSON == .null)
    }

    @Test func textLineNamesTheHostEachPhaseTheTotalAndTheAlgorithms() {
        #expect(sample().line(host: "node1") == "node1: connect 0.4 ms, handshake 12.0 ms, host key check 0.6 ms, "
            + "authentication 30.0 ms, channel open 40.0 ms, exec start 3.0 ms, output 8.0 ms, exit 0.3 ms = 94.2 ms "
            + "(kex ecdh-sha2-nistp256, host key ssh-ed25519)")
    }

    @Test func everyOfferedKeyExchangeIsOneThisLibssh2Supports() throws {
        let supported = try LibSSH2.supportedKeyExchanges()
        #expect(SSHConnection.keyExchangeAlgorithms.first == "ecdh-sha2-nistp256")
        for method in SSHConnection.keyExchangeAlgorithms {
            #expect(supported.contains(method), "libssh2 \(supported) lacks \(method)")
        }
    }
}

@Suite(.startsSSHD)
struct SSHTimingsTests {
    @Test func aCommandReportsPhasesThatAddUpToNoMoreThanItsWallTime() throws {
        try withConnection { lab, sshd, connection in
            let started = ContinuousClock.now
            let result = try connection.run("sleep 0.2")
            let wall = ContinuousClock.now - started
            #expect(result.timings.output >= .milliseconds(200), "the command's own run shows up as output")
            #expect(result.timings.total <= wall)
            #expect(connection.timings.handshake > .zero)
            #expect(connection.timings.authentication > .zero)
            #expect(connection.timings.total > .zero)
        }
    }

    @Test func anOpenSSHServerNegotiatesP256KeyExchangeAndTheRecordedHostKey() throws {
        try withConnection { lab, sshd, connection in
            let algorithms = try #require(connection.algorithms)
            #expect(algorithms.keyExchange == "ecdh-sha2-nistp256")
            #expect(algorithms.hostKey == "ssh-ed25519")
        }
    }

    @Test func aServerWithoutP256GetsCurve25519() throws {
        try Lab.with { lab in
            try lab.withSSHD(extraConfig: "KexAlgorithms curve25519-sha256") { sshd in
                try lab.trust(sshd)
                let connection = try SSHConnection.connect(lab.target(sshd))
                defer { connection.close() }
                #expect(connection.algorithms?.keyExchange == "curve25519-sha256")
                #expect(try connection.run("echo ok").stdoutText == "ok\n")
            }
        }
    }
}
