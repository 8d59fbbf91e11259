import VRRPConfig
import CVRRPSys
import Glibc

/// Structured log lines on stderr (journald keeps them): `level=info instance=api event=... key=value`.
/// Values with spaces are quoted. One line per event, written with a single write().
enum Log {
    static func info(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { emit("info", event, fields) }
    static func warning(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { emit("warning", event, fields) }
    static func error(_ event: String, _ fields: KeyValuePairs<String, String> = [:]) { emit("error", event, fields) }

    static func emit(_ level: String, _ event: String, _ fields: KeyValuePairs<String, String>) {
        var line = "level=\(level) event=\(event)"
        for (k, v) in fields { line += " \(k)=\(quote(v))" }
        line += "\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func quote(_ v: String) -> String {
        if !v.isEmpty, !v.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return v }
        var s = "\""
        for c in v {
            switch c {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            default: s.append(c)
            }
        }
        return s + "\""
    }
}
