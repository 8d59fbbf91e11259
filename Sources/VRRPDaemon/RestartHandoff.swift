/// What a daemon restarting in place (SIGUSR2: it replaces its process image with the binary at
/// its own path, keeping its pid) hands to the new image, in one environment variable: which
/// instances were Master and which of their checks were good, so the new image resumes as Master
/// with the VIPs still on the interface instead of starting as Backup. Pure: text in and out.
struct RestartHandoff: Equatable {
    static let environmentName = "CLUSTERUP_VRRPD_RESUME"
    /// Older than this (monotonic clock, which an exec keeps) and it is ignored: the backups have
    /// long taken over, and a normal startup is right.
    static let maxAgeNanoseconds: UInt64 = 2_000_000_000

    struct InstanceState: Equatable {
        var master: Bool
        /// Each tracked check's last status, in `CheckSet` order.
        var goodChecks: [Bool]
    }

    /// When the old image handed over (monotonic ns).
    var at: UInt64
    /// Restarts in place so far, this one included.
    var restarts: Int
    var instances: [String: InstanceState]

    /// `1 AT RESTARTS NAMEHEX=M:101 ...`: names in hex, so no character of theirs can split it.
    func encoded() -> String {
        var parts = ["1", String(at), String(restarts)]
        for name in instances.keys.sorted() {
            let state = instances[name]!
            let checks = String(state.goodChecks.map { $0 ? Character("1") : Character("0") })
            parts.append("\(Self.hex(name))=\(state.master ? "M" : "B"):\(checks)")
        }
        return parts.joined(separator: " ")
    }

    /// nil when malformed, from another format version, or stale at `now`.
    static func decode(_ text: String, now: UInt64) -> RestartHandoff? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "1", let at = UInt64(parts[1]), let restarts = Int(parts[2]), restarts > 0,
              at <= now, now - at <= maxAgeNanoseconds else { return nil }
        var instances: [String: InstanceState] = [:]
        for part in parts.dropFirst(3) {
            guard let eq = part.firstIndex(of: "="), let name = unhex(String(part[..<eq])) else { return nil }
            let value = part[part.index(after: eq)...]
            guard value.count >= 2, let role = value.first, role == "M" || role == "B",
                  value[value.index(after: value.startIndex)] == ":" else { return nil }
            let checks = value.dropFirst(2)
            guard checks.allSatisfy({ $0 == "0" || $0 == "1" }) else { return nil }
            instances[name] = InstanceState(master: role == "M", goodChecks: checks.map { $0 == "1" })
        }
        return RestartHandoff(at: at, restarts: restarts, instances: instances)
    }

    static func hex(_ text: String) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        for byte in text.utf8 { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return out
    }

    static func unhex(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count % 2 == 0 else { return nil }
        func nibble(_ b: UInt8) -> UInt8? {
            switch b {
            case 48...57: b - 48
            case 97...102: b - 87
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return String(validating: out, as: UTF8.self)
    }
}
