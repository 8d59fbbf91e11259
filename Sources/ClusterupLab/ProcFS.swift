import Foundation

/// Parsing of /proc files. Pure functions over text; the reading is in `HostSystem`.
public enum ProcFS {
    public struct Mount: Equatable, Sendable {
        public var mountPoint: String
        public var fileSystemType: String
        public var source: String
    }

    /// Entries of /proc/self/mountinfo (see proc(5)): mount point is field 5, then after the "-"
    /// separator come the filesystem type and the source.
    public static func parseMountinfo(_ text: String) -> [Mount] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Optional fields (shared:N ...) sit between field 6 and the lone "-".
            guard fields.count >= 8, let dash = fields[6...].firstIndex(of: "-"), dash + 1 < fields.count
            else { return nil }
            let source = dash + 2 < fields.count ? unescape(String(fields[dash + 2])) : ""
            return Mount(mountPoint: unescape(String(fields[4])), fileSystemType: String(fields[dash + 1]),
                         source: source)
        }
    }

    /// Mountinfo escapes space, tab, newline and backslash as \ooo octal.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
               let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public struct Stat: Equatable, Sendable {
        public var pid: Int32
        public var command: String
        public var state: Character
        public var parent: Int32
        public var startTime: UInt64
    }

    /// /proc/PID/stat. The command is in parentheses and may itself contain ") ", so the fields
    /// after it are found from the last ')'.
    public static func parseStat(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = Int32(text[..<open].trimmingCharacters(in: .whitespaces)) else { return nil }
        let command = String(text[text.index(after: open)..<close])
        let rest = text[text.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
        guard rest.count > 19, let state = rest[0].first, let parent = Int32(rest[1]),
              let start = UInt64(rest[19]) else { return nil }
        return Stat(pid: pid, command: command, state: state, parent: parent, startTime: start)
    }

    /// NUL-separated /proc/PID/cmdline.
    public static func parseCmdline(_ data: Data) -> [String] {
        data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .dropLast(data.last == 0 ? 1 : 0).map { $0 }
    }

    /// The machine directory (`-D DIR` / `--directory=DIR`) of a systemd-nspawn command line.
    public static func nspawnDirectory(_ arguments: [String]) -> String? {
        guard let tool = arguments.first, tool.hasSuffix("systemd-nspawn") else { return nil }
        for (offset, argument) in arguments.enumerated() {
            if (argument == "-D" || argument == "--directory"), offset + 1 < arguments.count {
                return arguments[offset + 1]
            }
            if argument.hasPrefix("--directory=") { return String(argument.dropFirst("--directory=".count)) }
        }
        return nil
    }
}
