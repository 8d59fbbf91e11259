/// What deploy wants a host to have: files with their content, mode and owner, and systemd units
/// that must be enabled and running. Every component (VRRP, HAProxy, etcd, control plane) adds to
/// it; idempotency is then one mechanism for all of them: compare with what the host has, change
/// only the difference, restart only what a changed file feeds.
public struct ManagedFile: Sendable, Equatable {
    public var path: String
    public var content: [UInt8]
    public var mode: UInt32
    public var owner: String
    public var group: String
    /// Private keys and secrets: their content is never shown in a diff or a log.
    public var sensitive: Bool
    /// Line prefixes (after indentation) whose values are secrets in an otherwise showable file:
    /// the diff shows such a line changed, never its value, in the old file as in the new one
    /// (a password removed from the inventory is still in the node's file).
    public var secretLinePrefixes: [String] = []
    /// Units to restart when this file changes.
    public var restarts: [String]
    /// Which part of the deploy owns it, for messages ("etcd", "haproxy").
    public var component: String

    public init(
        path: String, content: [UInt8], mode: UInt32 = 0o644, owner: String = "root", group: String = "root",
        sensitive: Bool = false, restarts: [String] = [], component: String
    ) {
        self.path = path
        self.content = content
        self.mode = mode
        self.owner = owner
        self.group = group
        self.sensitive = sensitive
        self.restarts = restarts
        self.component = component
    }

    public init(path: String, text: String, mode: UInt32 = 0o644, sensitive: Bool = false, restarts: [String] = [], component: String) {
        self.init(path: path, content: Array(text.utf8), mode: mode, sensitive: sensitive, restarts: restarts, component: component)
    }

    public var isUnitFile: Bool { path.hasPrefix("/etc/systemd/") }

    /// `text` with the value of every secret line replaced, for diffs.
    public func redacted(_ text: String) -> String {
        guard !secretLinePrefixes.isEmpty else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let indentation = line.prefix { $0 == " " || $0 == "\t" }
            let body = line.dropFirst(indentation.count)
            guard let prefix = secretLinePrefixes.first(where: { body.hasPrefix($0) }) else { return String(line) }
            return indentation + prefix + " (secret: not shown)"
        }.joined(separator: "\n")
    }
}

/// A systemd unit deploy keeps enabled and running. Which hosts restart it when, and in what
/// order, is its phase's decision (etcd one member at a time, keeping quorum; the control plane
/// through `ControlPlaneRestarts`, drained), not a property of the unit.
public struct ManagedUnit: Sendable, Equatable {
    public var name: String
    public var component: String
    /// The unit reloads its configuration in place (`systemctl reload`), which keeps HAProxy's
    /// connections and the VRRP daemon's mastership; program and unit-file changes still restart.
    public var reload: Bool

    public init(name: String, component: String, reload: Bool = false) {
        self.name = name
        self.component = component
        self.reload = reload
    }
}

public struct HostDesiredState: Sendable, Equatable {
    public var host: String
    public var files: [ManagedFile] = []
    public var units: [ManagedUnit] = []
    /// Units that must NOT run here (the other VRRP backend).
    public var disabledUnits: [String] = []
    /// Shell commands run after disabling a unit of `disabledUnits`, by unit.
    public var afterDisabling: [String: String] = [:]
    /// sysctl.d files to apply (`sysctl -p`) when written.
    public var sysctlFiles: [String] = []

    public init(host: String) {
        self.host = host
    }

    public mutating func add(_ file: ManagedFile) {
        precondition(!files.contains { $0.path == file.path }, "two components manage \(file.path)")
        files.append(file)
    }

    public mutating func add(_ unit: ManagedUnit) {
        if !units.contains(where: { $0.name == unit.name }) { units.append(unit) }
    }
}
