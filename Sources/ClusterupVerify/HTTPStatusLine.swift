/// The one thing a readiness probe needs from an HTTP/1.x response: its status code. Pure; the
/// prober feeds it the bytes read so far and stops reading as soon as the status line is whole.
public enum HTTPStatusLine: Sendable, Equatable {
    case incomplete
    case status(Int)
    case malformed(String)

    /// A status line longer than this is not HTTP: stop instead of buffering.
    public static let maximumLength = 1024

    /// `HTTP/1.1 200 OK\r\n...` → `.status(200)`.
    public static func parse(_ bytes: some Collection<UInt8>) -> HTTPStatusLine {
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            return bytes.count > maximumLength ? .malformed("no status line in the first \(maximumLength) bytes") : .incomplete
        }
        var line = Array(bytes[..<end])
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let text = String(decoding: line, as: UTF8.self)
        let fields = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1.") else {
            return .malformed("not an HTTP/1.x status line: \(text.prefix(80))")
        }
        guard fields[1].count == 3, let code = Int(fields[1]), (100...599).contains(code) else {
            return .malformed("bad status code in: \(text.prefix(80))")
        }
        return .status(code)
    }

    /// The request a probe sends. `Connection: close`: each probe is a new connection, like a
    /// client reconnecting after the VIP moved.
    public static func request(path: String, host: String, port: Int) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: clusterup-verify\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
    }
}
