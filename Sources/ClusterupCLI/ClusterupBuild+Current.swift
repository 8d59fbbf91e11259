import ClusterupCore

// scripts/package writes ClusterupBuild+Package.swift (ignored by git) with the version, commit and
// build date, and compiles with -DCLUSTERUP_PACKAGE; a plain `swift build` uses this one. It lives
// in the top module so that a new commit or date recompiles this module alone.
#if !CLUSTERUP_PACKAGE
extension ClusterupBuild {
    /// A plain `swift build`: the version alone. Keep it equal to the VERSION file (a unit test checks).
    public static let current = ClusterupBuild(version: "0.1.0", commit: nil, date: nil)
}
#endif
