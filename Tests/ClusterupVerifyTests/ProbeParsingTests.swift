import ClusterupCore
import ClusterupVerify
import Testing

/// What the https probe reads and sends, and how --target is read. No sockets.
@Suite struct ProbeParsingTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func theStatusCodeComesFromTheStatusLine() {
        #expect(HTTPStatusLine.parse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) == .status(200))
        #expect(HTTPStatusLine.parse(bytes("HTTP/1.0 500 Internal Server Error\r\n")) == .status(500))
        #expect(HTTPStatusLine.parse(bytes("HTTP/1.1 401 Unauthorized\n")) == .status(401))
    }

    @Test func aStatusLineWithoutReasonPhraseIsEnough() {
        #expect(HTTPStatusLine.parse(bytes("HTTP/1.1 200\r\n")) == .status(200))
    }

    @Test func aPartialStatusLineAsksForMoreBytes() {
        #expect(HTTPStatusLine.parse(bytes("")) == .incomplete)
        #expect(HTTPStatusLine.parse(bytes("HTTP/1.1 20")) == .incomplete)
        #expect(HTTPStatusLine.parse(bytes("HTTP/1.1 200 OK\r")) == .incomplete)
    }

    @Test func somethingElseThanHTTPIsMalformed() {
        guard case .malformed = HTTPStatusLine.parse(bytes("SSH-2.0-OpenSSH_9.2\r\n")) else {
            Issue.record("an SSH banner parsed as HTTP")
            return
        }
        guard case .malformed = HTTPStatusLine.parse(bytes("HTTP/1.1 2000 OK\r\n")) else {
            Issue.record("a four-digit status parsed")
            return
        }
    }

    @Test func endlessBytesWithoutANewlineStopBeingBuffered() {
        let junk = [UInt8](repeating: UInt8(ascii: "x"), count: HTTPStatusLine.maximumLength + 1)
        guard case .malformed = HTTPStatusLine.parse(junk) else {
            Issue.record("a status line longer than the limit was still incomplete")
            return
        }
    }

    @Test func theRequestIsAOneShotGETForThePath() {
        let request = String(decoding: HTTPStatusLine.request(path: "/readyz", host: "198.51.100.62", port: 8443), as: UTF8.self)
        #expect(request.hasPrefix("GET /readyz HTTP/1.1\r\n"))
        #expect(request.contains("\r\nHost: 198.51.100.62:8443\r\n"))
        #expect(request.contains("\r\nConnection: close\r\n"))
        #expect(request.hasSuffix("\r\n\r\n"))
    }

    @Test func aTargetIsHostColonPort() throws {
        #expect(try ProbeTarget.parse("198.51.100.62:8443") == ProbeTarget(host: "198.51.100.62", port: 8443))
        #expect(try ProbeTarget.parse("api.example.com:443") == ProbeTarget(host: "api.example.com", port: 443))
    }

    @Test(arguments: ["198.51.100.62", "198.51.100.62:", ":8443", "198.51.100.62:99999", "[2001:db8::1]:443", "a b:1", "198.51.100.620:443"])
    func aTargetWithoutHostOrValidPortIsRefusedNamingTheOption(_ text: String) {
        #expect {
            _ = try ProbeTarget.parse(text)
        } throws: { error in
            guard let error = error as? ClusterupError else { return false }
            return error.exitCode == 2 && error.description.contains("--target")
        }
    }

    @Test func onlyAnIPv4LiteralIsCheckedAgainstIPAddressSANs() {
        #expect(ProbeTarget(host: "198.51.100.62", port: 1).isIPv4Literal)
        #expect(!ProbeTarget(host: "198.51.100.620", port: 1).isIPv4Literal)
        #expect(!ProbeTarget(host: "api.example.com", port: 1).isIPv4Literal)
        #expect(!ProbeTarget(host: "1.2.3", port: 1).isIPv4Literal)
    }
}
