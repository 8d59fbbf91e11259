import Foundation
import Testing
import VRRP
@testable import VRRPConfig
@testable import VRRPDaemon
import TestSupport

/// The built-in checks against servers on loopback (no root needed).
@Suite(.serialized) struct DaemonCheckTests {
    func job(_ kind: CheckJob.Kind, timeout: Duration = .seconds(2)) -> CheckJob {
        CheckJob(instance: 0, index: 0, name: "t", kind: kind,
                 timing: CheckTiming(interval: .seconds(1), timeout: timeout, rise: 1, fall: 1, weight: 0))
    }

    func http(_ url: String, expect: Int = 200) throws -> HTTPCheck {
        let u = try #require(parseURL(url))
        return HTTPCheck(url: url, tls: u.tls, target: u.target, host: u.host, path: u.path, expectStatus: expect,
                         timing: CheckTiming())
    }

    /// A one-shot HTTP server on loopback answering every connection with `status`.
    func withHTTPServer(status: String, _ body: (UInt16) throws -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        listen(fd, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        let server = Thread {
            let c = accept(fd, nil, nil)
            var buf = [UInt8](repeating: 0, count: 1024)
            _ = read(c, &buf, buf.count)
            let reply = Array("HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = reply.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            close(c)
        }
        server.start()
        defer { close(fd) }
        try body(port)
    }

    @Test func httpCheckIsGoodOnTheExpectedStatus() throws {
        try withHTTPServer(status: "200 OK") { port in
            let result = job(.http(try http("http://127.0.0.1:\(port)/readyz"))).run()
            #expect(result.ok, "\(result.detail)")
        }
    }

    @Test func httpCheckFailsOnAnotherStatus() throws {
        try withHTTPServer(status: "503 Service Unavailable") { port in
            let result = job(.http(try http("http://127.0.0.1:\(port)/readyz"))).run()
            #expect(!result.ok)
            #expect(result.detail == "status 503")
        }
    }

    @Test func tcpCheckFailsWhenRefused() throws {
        let result = job(.tcp(TCPCheck(target: SocketAddress4(address: IPv4Address(127, 0, 0, 1), port: 9), timing: CheckTiming()))).run()
        #expect(!result.ok)
        #expect(result.detail.contains("refused"))
    }

    @Test func scriptCheckFollowsTheExitStatus() {
        #expect(job(.script(ScriptCheck(name: "ok", command: "exit 0", timing: CheckTiming()))).run().ok)
        let failed = job(.script(ScriptCheck(name: "no", command: "exit 3", timing: CheckTiming()))).run()
        #expect(!failed.ok)
        #expect(failed.detail == "exit status 3")
    }

    @Test func scriptCheckIsKilledAtItsTimeout() {
        let started = Date()
        let result = job(.script(ScriptCheck(name: "slow", command: "sleep 5", timing: CheckTiming())), timeout: .milliseconds(200)).run()
        #expect(!result.ok)
        #expect(result.detail.contains("timed out"))
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs the openssl command"))
    func httpsCheckSpeaksTLSThroughTheRuntimeLoadedLibssl() throws {
        let dir = NSTemporaryDirectory() + "cuvt-tls-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = UInt16.random(in: 20000...40000)
        try ProcessRunner.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                                                   "-subj", "/CN=127.0.0.1", "-keyout", "\(dir)/k.pem", "-out", "\(dir)/c.pem"]).check("openssl req")
        let server = try SpawnedProcess("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:\(port)", "-www", "-cert", "\(dir)/c.pem",
                                                             "-key", "\(dir)/k.pem", "-quiet"])
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let check = job(.http(try http("https://127.0.0.1:\(port)/")))
        var result = (ok: false, detail: "not run")
        for _ in 0..<50 {
            result = check.run()
            if result.ok { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(result.ok, "\(result.detail)")
        #expect(cvrrpTLSAvailable())
    }
}
