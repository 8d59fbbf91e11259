import ClusterupCore
import Foundation
import Testing
@testable import ClusterupSSH

@Suite struct ConnectErrorTests {
    @Test func refusedSaysSshdIsNotListening() {
        let error = TCP.connectError(ECONNREFUSED, host: "198.51.100.7", port: 2222, name: "node1")
        #expect(error.message == "connection refused by 198.51.100.7:2222")
        #expect(error.location == "node1")
        #expect(error.hint?.contains("port 2222") == true)
    }

    @Test func timeoutPointsAtReachabilityAndTheSetting() {
        let error = TCP.connectError(ETIMEDOUT, host: "198.51.100.7", port: 22, name: "node1")
        #expect(error.message == "connection to 198.51.100.7:22 timed out")
        #expect(error.hint?.contains("connect_timeout") == true)
    }

    @Test func unreachableSuggestsABastion() {
        for code in [EHOSTUNREACH, ENETUNREACH] {
            let error = TCP.connectError(code, host: "198.51.100.7", port: 22, name: "node1")
            #expect(error.message == "no route to 198.51.100.7:22")
            #expect(error.hint?.contains("bastion") == true)
        }
    }
}

@Suite struct KnownHostsNamingTests {
    @Test func port22UsesTheBareHostName() {
        #expect(KnownHosts.entryName(host: "node1.example", port: 22) == "node1.example")
    }

    @Test func otherPortsUseBracketsLikeOpenSSH() {
        #expect(KnownHosts.entryName(host: "198.51.100.7", port: 2222) == "[198.51.100.7]:2222")
    }
}

@Suite struct RemoteFileStateTests {
    let digest = String(repeating: "ab", count: 32)

    @Test func probeOutputIsParsed() throws {
        let state = try #require(RemoteFileState.parse("\(digest)  /etc/x.conf\n640 root etcd\n"))
        #expect(state == RemoteFileState(sha256: digest, mode: 0o640, owner: "root", group: "etcd"))
    }

    @Test func absentFileGivesNoState() {
        #expect(RemoteFileState.parse("") == nil)
    }

    @Test func sameContentAndModeSatisfiesWhenOwnerNotAskedFor() {
        let remote = RemoteFileState(sha256: digest, mode: 0o644, owner: "root", group: "root")
        #expect(remote.satisfies(RemoteFileState(sha256: digest, mode: 0o644, owner: nil, group: nil)))
    }

    @Test func differentModeOwnerOrContentDoesNotSatisfy() {
        let remote = RemoteFileState(sha256: digest, mode: 0o644, owner: "root", group: "root")
        #expect(!remote.satisfies(RemoteFileState(sha256: digest, mode: 0o600, owner: nil, group: nil)))
        #expect(!remote.satisfies(RemoteFileState(sha256: digest, mode: 0o644, owner: "etcd", group: nil)))
        #expect(!remote.satisfies(RemoteFileState(sha256: String(repeating: "cd", count: 32), mode: 0o644, owner: nil, group: nil)))
    }

    @Test func localDigestIsSha256Hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        #expect(hexString(sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
