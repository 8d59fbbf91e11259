import Foundation
import Testing
import ClusterupNodes
@testable import ClusterupDeploy

/// The rendered haproxy.cfg run by the real HAProxy on loopback: its /healthz (what the lab's VRRP
/// check polls) answers 503 while no kube-apiserver backend is up and 200 once one passes HAProxy's
/// /readyz check, so the VIP leaves (and does not return to) a node that could not serve it.
@Suite struct HAProxyHealthzTests {
    @Test func healthzFollowsWhetherAnyApiserverIsUp() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            print("HAProxyHealthzTests skipped: needs /usr/sbin/haproxy and /usr/bin/openssl (apt install haproxy openssl)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-hz-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Ports from this process id, in a range nothing else here uses.
        let base = 20_000 + Int(getpid() % 1_000) * 3  // below the ephemeral range (32768+)
        let (frontend, apiserver, stats) = (base, base + 1, base + 2)

        var config = try TemplateSet().render("haproxy.cfg", [
            "cluster": "t", "vip": "127.0.0.1", "port": frontend,
            "backends": [["name": "cp1", "address": "127.0.0.1"]], "apiserverPort": apiserver,
            "statsPort": stats, "checkInterval": "100ms", "backend": HAProxyNode.apiserverBackend,
        ])
        // Run unprivileged in the foreground: no admin socket in /run/haproxy, no syslog, no fork.
        config = config.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("stats socket") && $0.trimmingCharacters(in: .whitespaces) != "daemon"
                && !$0.trimmingCharacters(in: .whitespaces).hasPrefix("log ") }
            .joined(separator: "\n")
        #expect(config.contains("nbsrv(kube-apiservers) lt 1"))
        let configPath = dir.appendingPathComponent("haproxy.cfg").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)

        let haproxy = try startProcess("/usr/sbin/haproxy", ["-db", "-f", configPath])
        defer { killAndWait(haproxy) }
        let url = "http://127.0.0.1:\(stats)/healthz"
        // No apiserver listens: after HAProxy's checks fail (fall 2 x 100 ms) /healthz is 503.
        #expect(try waitForStatus(url, "503"), "healthz did not report 503 with no apiserver up")

        _ = try runShell("""
            cd '\(dir.path)' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
              -keyout k.pem -out c.pem -subj /CN=cp1 -days 1 2>/dev/null
            """)
        // A TLS server answering every GET with 200 stands in for a ready apiserver.
        let server = try startProcess("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:\(apiserver)", "-www", "-quiet",
                                                     "-cert", dir.appendingPathComponent("c.pem").path,
                                                     "-key", dir.appendingPathComponent("k.pem").path])
        #expect(try waitForStatus(url, "200"), "healthz did not report 200 once an apiserver answered /readyz")

        killAndWait(server)
        #expect(try waitForStatus(url, "503"), "healthz did not return to 503 after the apiserver went away")
    }

    /// Polls until /healthz answers `status`; the 30 s limit only catches a hang.
    private func waitForStatus(_ url: String, _ status: String) throws -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let code = (try? runShell("curl -s -o /dev/null -w '%{http_code}' --max-time 1 '\(url)'")) ?? ""
            if code == status { return true }
            usleep(50_000)
        }
        return false
    }
}
