import ClusterupNodes
import Foundation
import Testing
@testable import ClusterupDeploy

/// The rendered haproxy.cfg run by the real HAProxy on loopback, with one backend that never
/// completes a TCP handshake (a listener whose accept queue is full: the kernel drops further SYNs,
/// as a node cut off the network does) and one that answers. Every request through the frontend
/// must be answered: the connect to the dead backend times out and is redispatched to the other.
/// (With the template before redispatch, every second request failed.)
@Suite struct HAProxyRedispatchTests {
    @Test func aBackendThatNeverAnswersCostsLatencyNotFailures() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            print("HAProxyRedispatchTests skipped: needs /usr/sbin/haproxy, /usr/bin/openssl and curl (apt install haproxy openssl curl)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-rd-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Ports from this process id, below the kernel's ephemeral range (32768+: a lab test's
        // outgoing connection held 34282 once, and openssl s_server could not listen there) and
        // apart from HAProxyHealthzTests' (20000-22997).
        let base = 24_000 + Int(getpid() % 1_000) * 4
        let (frontend, dead, live, stats) = (base, base + 1, base + 2, base + 3)

        let blackhole = try Blackhole(port: UInt16(dead))
        defer { blackhole.close() }

        // Checks every 60 s: the test's requests meet the dead backend before checks take it out.
        var config = try TemplateSet().render("haproxy.cfg", [
            "cluster": "t", "vip": "127.0.0.1", "port": frontend,
            "backends": [["name": "dead", "address": "127.0.0.1"]], "apiserverPort": dead,
            "statsPort": stats, "checkInterval": "60s", "backend": HAProxyNode.apiserverBackend,
        ])
        // The template gives every server the same port; the live one listens on another.
        config = config.replacingOccurrences(of: "    server dead 127.0.0.1:\(dead)",
                                             with: "    server dead 127.0.0.1:\(dead)\n    server live 127.0.0.1:\(live)")
        config = config.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("stats socket") && $0.trimmingCharacters(in: .whitespaces) != "daemon"
                && !$0.trimmingCharacters(in: .whitespaces).hasPrefix("log ") }
            .joined(separator: "\n")
        #expect(config.contains("option redispatch"))
        #expect(config.contains("server live 127.0.0.1:\(live)"))
        let configPath = dir.appendingPathComponent("haproxy.cfg").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)

        _ = try runShell("""
            cd '\(dir.path)' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
              -keyout k.pem -out c.pem -subj /CN=cp1 -days 1 2>/dev/null
            """)
        let server = try startProcess("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:\(live)", "-www", "-quiet",
                                                     "-cert", dir.appendingPathComponent("c.pem").path,
                                                     "-key", dir.appendingPathComponent("k.pem").path])
        defer { killAndWait(server) }
        let haproxy = try startProcess("/usr/sbin/haproxy", ["-db", "-f", configPath])
        defer { killAndWait(haproxy) }
        #expect(waitForListener(port: frontend), "HAProxy did not listen on \(frontend)")
        #expect(waitForListener(port: live), "openssl s_server did not listen on \(live)")

        var answers: [String] = []
        for _ in 0..<12 {
            answers.append((try? runShell(
                "curl -sk -o /dev/null -w '%{http_code}' --max-time 10 https://127.0.0.1:\(frontend)/readyz")) ?? "error")
        }
        #expect(answers.allSatisfy { $0 == "200" }, "requests through HAProxy failed: \(answers)")
    }

    /// A TCP listener that completes no handshake: backlog 0 and one connection already queued and
    /// never accepted, so the kernel drops every further SYN (a listen-queue overflow).
    final class Blackhole {
        private var fds: [Int32] = []

        init(port: UInt16) throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            fds.append(listener)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = Self.loopback(port)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(listener, 0) == 0 else {
                close()
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            // Fill the accept queue; the second connect may itself hang, so it does not block.
            for _ in 0..<2 {
                let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                fds.append(client)
                var peer = Self.loopback(port)
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            usleep(100_000)
        }

        func close() {
            for fd in fds { Glibc.close(fd) }
            fds = []
        }

        private static func loopback(_ port: UInt16) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            return address
        }
    }

    /// Waits until something accepts on the port; the 30 s limit only catches a hang.
    private func waitForListener(port: Int) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let answer = (try? runShell("ss -Hltn 'sport = :\(port)'")) ?? ""
            if answer.contains("LISTEN") { return true }
            usleep(50_000)
        }
        return false
    }
}
