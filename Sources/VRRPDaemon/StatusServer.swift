import VRRPConfig
import VRRP
import CVRRPSys
import Glibc

/// Serves the status JSON on a unix socket (one reply per connection) and, optionally,
/// Prometheus text on a TCP address. Both are polled by the event loop; replies are small
/// enough for one non-blocking write.
final class StatusServer {
    let unixFD: Int32
    let path: String
    let prometheusFD: Int32?
    /// Prometheus clients waiting for their request line.
    private(set) var httpClients: [Int32] = []
    /// Closed already: a restart in place whose exec failed leaves as a stop does, and the
    /// stop closes again; a descriptor number is never closed twice.
    private var isShut = false

    init(path: String, prometheus: SocketAddress4?) throws(SystemError) {
        unixFD = try SystemError.check(cvrrp_unix_listen(path), "listening on the status socket \(path)")
        self.path = path
        if let p = prometheus {
            do {
                prometheusFD = try SystemError.check(cvrrp_tcp_listen(p.address.networkOrder, p.port), "listening for Prometheus on \(p)")
            } catch {
                close(unixFD)
                unlink(path)
                throw error
            }
        } else {
            prometheusFD = nil
        }
    }

    func shutdown() {
        guard !isShut else { return }
        isShut = true
        close(unixFD)
        unlink(path)
        if let fd = prometheusFD { close(fd) }
        httpClients.forEach { close($0) }
        httpClients.removeAll()
    }

    func acceptStatus(_ body: () -> String) {
        while true {
            let c = cvrrp_accept(unixFD)
            if c < 0 { return }
            writeAll(c, body() + "\n")
            close(c)
        }
    }

    func acceptPrometheus() {
        guard let fd = prometheusFD else { return }
        while true {
            let c = cvrrp_accept(fd)
            if c < 0 { return }
            if httpClients.count >= 32 {
                close(c)
                continue
            }
            httpClients.append(c)
        }
    }

    /// Answers a Prometheus client whose request arrived (we serve one page, whatever the path).
    func answerPrometheus(_ client: Int32, _ body: () -> String) {
        var buf = [UInt8](repeating: 0, count: 4096)
        _ = read(client, &buf, buf.count)
        let text = body()
        writeAll(client, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text)
        close(client)
        httpClients.removeAll { $0 == client }
    }

    private func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        var spins = 0
        while offset < bytes.count, spins < 100 {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n } else if errno == EAGAIN { spins += 1; usleep(1000) } else { return }
        }
    }
}

/// `clusterup-vrrpd status`: reads the daemon's JSON from its socket.
public func readStatus(socket path: String) throws(SystemError) -> String {
    let fd = try SystemError.check(cvrrp_unix_connect(path), "connecting to \(path) (is clusterup-vrrpd running?)")
    defer { close(fd) }
    return try readToEnd(fd, what: path)
}
