import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI
import TestSupport

/// A real single-node etcd on loopback serving the generated certificates (no root needed).
@Suite struct EtcdTLSTests {
    static let etcdAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/etcdctl")

    /// A TCP port nobody listens on right now (the kernel's choice for port 0).
    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                try #require(bind(fd, raw, length) == 0)
                try #require(getsockname(fd, raw, &length) == 0)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func etcdctl(_ endpoint: String, pki: String, client: String, _ command: String...) -> CommandResult {
        run("/usr/bin/etcdctl", ["--endpoints", endpoint, "--cacert", pki + "/etcd/ca.crt",
                                 "--cert", client + ".crt", "--key", client + ".key",
                                 "--dial-timeout", "2s", "--command-timeout", "2s"] + command,
            environment: ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"])
    }

    @Test(.enabled(if: etcdAvailable, "needs /usr/bin/etcd and /usr/bin/etcdctl (Debian etcd-server, etcd-client)"),
          .timeLimit(.minutes(1)))
    func etcdAcceptsTheHealthcheckClientAndRejectsAClientFromAnotherCA() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var request = makeRequest(nodes: 1, directory: dir.pki)
        request.nodes[0].addresses = ["127.0.0.1"]
        _ = try PKIGenerator(request: request).run(now: Date())
        // Same names, independent CAs: the impostor's client certificate is well-formed but untrusted.
        var impostor = request
        impostor.settings.directory = dir.path + "/other-pki"
        _ = try PKIGenerator(request: impostor).run(now: Date())

        let clientPort = try freePort(), peerPort = try freePort()
        let client = "https://127.0.0.1:\(clientPort)", peer = "https://127.0.0.1:\(peerPort)"
        let node = dir.pki + "/nodes/node1"
        let arguments = [
            "--name", "node1", "--data-dir", dir.path + "/data",
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "node1=\(peer)", "--initial-cluster-state", "new",
            "--cert-file", node + "/etcd/server.crt", "--key-file", node + "/etcd/server.key",
            "--client-cert-auth", "--trusted-ca-file", dir.pki + "/etcd/ca.crt",
            "--peer-cert-file", node + "/etcd/peer.crt", "--peer-key-file", node + "/etcd/peer.key",
            "--peer-client-cert-auth", "--peer-trusted-ca-file", dir.pki + "/etcd/ca.crt",
        ]
        let logPath = dir.path + "/etcd.log"
        let etcd = try SpawnedProcess("/usr/bin/etcd", arguments, stdout: logPath, stderr: nil)
        defer {
            kill(etcd.processIdentifier, SIGKILL)
            etcd.waitUntilExit()
        }

        var health = CommandResult(status: -1, output: "")
        for _ in 0..<40 where health.status != 0 {
            try await Task.sleep(for: .milliseconds(250))
            health = etcdctl(client, pki: dir.pki, client: node + "/etcd/healthcheck-client", "endpoint", "health")
        }
        #expect(health.status == 0, "\(health.output)")
        #expect(health.output.contains("is healthy"))

        let put = etcdctl(client, pki: dir.pki, client: node + "/apiserver-etcd-client", "put", "/clusterup/test", "ok")
        #expect(put.status == 0 && put.output.contains("OK"), "\(put.output)")

        let rejected = etcdctl(client, pki: dir.pki, client: dir.path + "/other-pki/nodes/node1/etcd/healthcheck-client",
                               "get", "/clusterup/test")
        #expect(rejected.status != 0)
        #expect(!rejected.output.contains("/clusterup/test"))
        // The server, not some other failure, turned it away.
        let serverLog = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        #expect(serverLog.contains("rejected connection"))
        #expect(serverLog.contains("certificate signed by unknown authority"))
    }
}
