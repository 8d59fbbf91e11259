import ClusterupCore

/// Which clusterup last changed a node, and when: deploy writes it to every host it changed,
/// `status` reads it back. A deploy that changes nothing on a host leaves the host's record alone,
/// so the record names the run that made the node what it is.
public struct DeployRecord: Sendable, Equatable {
    public static let path = "/etc/clusterup/last-deploy"

    public var build: ClusterupBuild
    /// ISO 8601, UTC.
    public var deployedAt: String
    /// user@machine that ran the deploy.
    public var deployedBy: String

    public init(build: ClusterupBuild, deployedAt: String, deployedBy: String) {
        self.build = build
        self.deployedAt = deployedAt
        self.deployedBy = deployedBy
    }

    /// `key=value` lines; values lose any control character so one value cannot add a line.
    public var fileText: String {
        func clean(_ value: String) -> String { String(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init)) }
        var lines = ["# Written by `clusterup deploy` on each node it changes; `clusterup status` shows it."]
        lines.append("version=\(clean(build.version))")
        if let commit = build.commit { lines.append("commit=\(clean(commit))") }
        if let date = build.date { lines.append("built=\(clean(date))") }
        lines.append("deployed_at=\(clean(deployedAt))")
        lines.append("deployed_by=\(clean(deployedBy))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// nil when the text has no version (no record: never deployed, or by a clusterup without it).
    public static func parse(_ text: String) -> DeployRecord? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let version = fields["version"], !version.isEmpty else { return nil }
        return DeployRecord(build: ClusterupBuild(version: version, commit: fields["commit"], date: fields["built"]),
                            deployedAt: fields["deployed_at"] ?? "unknown", deployedBy: fields["deployed_by"] ?? "unknown")
    }

    /// `clusterup 0.1.0 (commit 79902a9c1d2e) on 2026-12-05T09:00:00Z by root@admin`.
    public var summary: String {
        "clusterup \(build.version) (commit \(build.commit ?? "unknown")) on \(deployedAt) by \(deployedBy)"
    }
}
