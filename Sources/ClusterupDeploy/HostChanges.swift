/// The difference between what deploy wants on a host and what the host has: the only things
/// deploy will touch there. Empty on a re-run with an unchanged inventory.
public struct HostChanges: Sendable, Equatable {
    public enum FileReason: Sendable, Equatable {
        case missing
        case content
        /// Same content, other mode or owner.
        case metadata(mode: UInt32, owner: String, group: String)
    }

    public struct FileChange: Sendable, Equatable {
        public var file: ManagedFile
        public var reason: FileReason
    }

    public enum UnitAction: Sendable, Equatable {
        case enable(String)
        case start(String)
        /// Restart because these files changed.
        case restart(String, because: [String])
        /// Reload in place: only configuration changed and the unit can re-read it (HAProxy keeps
        /// its connections, the VRRP daemon its mastership).
        case reload(String, because: [String])
        case disable(String)

        public var unit: String {
            switch self {
            case .enable(let unit), .start(let unit), .restart(let unit, _), .reload(let unit, _), .disable(let unit): unit
            }
        }

        /// What systemctl is asked to do, and the reports say.
        public var verb: Verb {
            switch self {
            case .enable: .enable
            case .start: .start
            case .restart: .restart
            case .reload: .reload
            case .disable: .disable
            }
        }
    }

    public var host: String
    public var files: [FileChange] = []
    public var units: [UnitAction] = []

    public var isEmpty: Bool { files.isEmpty && units.isEmpty }
    public var needsDaemonReload: Bool { files.contains { $0.file.isUnitFile } }

    /// Computes the changes. `hash` gives a file's SHA-256 hex (injected so this stays pure).
    public static func plan(
        desired: HostDesiredState, observed: HostObservedState, hash: ([UInt8]) -> String
    ) -> HostChanges {
        var changes = HostChanges(host: desired.host)
        var restartBecause: [String: [String]] = [:]
        for file in desired.files {
            let reason: FileReason?
            switch observed.files[file.path] {
            case .none, .some(.none):
                reason = .missing
            case .some(.some(let facts)):
                if facts.sha256 != hash(file.content) {
                    reason = .content
                } else if facts.mode != file.mode || facts.owner != file.owner || facts.group != file.group {
                    reason = .metadata(mode: facts.mode, owner: facts.owner, group: facts.group)
                } else {
                    reason = nil
                }
            }
            guard let reason else { continue }
            changes.files.append(FileChange(file: file, reason: reason))
            if case .metadata = reason { continue }
            for unit in file.restarts { restartBecause[unit, default: []].append(file.path) }
        }
        for unit in desired.units {
            let facts = observed.units[unit.name]
            if facts?.isEnabled != true { changes.units.append(.enable(unit.name)) }
            if facts?.isActive != true {
                changes.units.append(.start(unit.name))
            } else if let paths = restartBecause[unit.name] {
                let configurationOnly = !paths.contains { $0.hasPrefix("/etc/systemd/") || $0.hasPrefix("/usr/") }
                changes.units.append(unit.reload && configurationOnly
                    ? .reload(unit.name, because: paths) : .restart(unit.name, because: paths))
            }
        }
        for name in desired.disabledUnits {
            let facts = observed.units[name]
            if facts?.isActive == true || facts?.isEnabled == true { changes.units.append(.disable(name)) }
        }
        return changes
    }
}
