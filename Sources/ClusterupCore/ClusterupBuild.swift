/// Which clusterup this is: what `clusterup --version` prints and what deploy records on the nodes
/// it changes. The version is the VERSION file's; the commit and the build date are known only to
/// a build made by scripts/package. The running program's own is `ClusterupBuild.current`
/// (ClusterupCLI).
public struct ClusterupBuild: Sendable, Equatable {
    public var version: String
    /// The git commit built from (12 hex digits, "-dirty" when the tree had changes); nil: unknown.
    public var commit: String?
    /// When the package was built (ISO 8601, UTC); nil: unknown.
    public var date: String?

    public init(version: String, commit: String?, date: String?) {
        self.version = version
        self.commit = commit
        self.date = date
    }

    /// `0.1.0 (commit 79902a9c1d2e, built 2026-12-05T08:40:00Z)`.
    public var description: String {
        guard commit != nil || date != nil else { return "\(version) (commit unknown, built from source with swift build)" }
        return "\(version) (commit \(commit ?? "unknown"), built \(date ?? "unknown"))"
    }
}
