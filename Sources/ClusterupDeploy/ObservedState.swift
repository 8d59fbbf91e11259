import ClusterupCore

/// What a host has of the things deploy manages, read by one probe script over one channel.
public struct HostObservedState: Sendable, Equatable {
    public struct FileFacts: Sendable, Equatable {
        public var sha256: String
        public var mode: UInt32
        public var owner: String
        public var group: String

        public init(sha256: String, mode: UInt32, owner: String, group: String) {
            self.sha256 = sha256
            self.mode = mode
            self.owner = owner
            self.group = group
        }
    }

    public struct UnitFacts: Sendable, Equatable {
        /// `systemctl is-active`: active, inactive, failed, activating…
        public var active: String
        /// `systemctl is-enabled`: enabled, disabled, masked, static, or "" when unknown.
        public var enabled: String

        public init(active: String, enabled: String) {
            self.active = active
            self.enabled = enabled
        }

        public var isActive: Bool { active == "active" || active == "reloading" }
        public var isEnabled: Bool { enabled == "enabled" || enabled == "enabled-runtime" || enabled == "static" }
    }

    /// nil value: the file does not exist.
    public var files: [String: FileFacts?]
    public var units: [String: UnitFacts]

    public init(files: [String: FileFacts?] = [:], units: [String: UnitFacts] = [:]) {
        self.files = files
        self.units = units
    }

    /// A script printing one tab-separated line per path and per unit.
    public static func probeScript(paths: [String], units: [String]) -> String {
        var script = ""
        if !paths.isEmpty {
            script += "for f in \(paths.map(shellQuote).joined(separator: " ")); do\n"
            script += #"  if [ -f "$f" ]; then printf 'file\t%s\t%s\t%s\n' "$f" "$(stat -c '%a:%U:%G' "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)"; else printf 'file\t%s\t-\n' "$f"; fi"# + "\ndone\n"
        }
        if !units.isEmpty {
            script += "for u in \(units.map(shellQuote).joined(separator: " ")); do\n"
            script += #"  printf 'unit\t%s\t%s\t%s\n' "$u" "$(systemctl is-active "$u" 2>/dev/null)" "$(systemctl is-enabled "$u" 2>/dev/null)""# + "\ndone\n"
        }
        return script
    }

    public static func parse(_ output: String, host: String) throws -> HostObservedState {
        var state = HostObservedState()
        for line in output.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            switch fields.first {
            case "file" where fields.count == 3 && fields[2] == "-":
                state.files[fields[1]] = .some(nil)
            case "file" where fields.count == 4:
                let meta = fields[2].split(separator: ":").map(String.init)
                guard meta.count == 3, let mode = UInt32(meta[0], radix: 8), fields[3].count == 64 else {
                    throw ClusterupError.remote("could not read the state of \(fields[1]): '\(line)'", host: host)
                }
                state.files[fields[1]] = FileFacts(sha256: fields[3], mode: mode, owner: meta[1], group: meta[2])
            case "unit" where fields.count == 4:
                state.units[fields[1]] = UnitFacts(active: fields[2], enabled: fields[3])
            default:
                throw ClusterupError.remote("unexpected line from the state probe: '\(line)'", host: host)
            }
        }
        return state
    }
}
