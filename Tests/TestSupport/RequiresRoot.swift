import Foundation
import Testing

/// Whether the tests run as root. Lab tests (nodes, network namespaces, real sshd and etcd, raw
/// sockets) need it; without it they skip, and the runner prints why.
public let runningAsRoot = geteuid() == 0

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only as root; otherwise it is skipped with "needs root: `why`".
    public static func requiresRoot(_ why: String, sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(if: runningAsRoot, Comment(rawValue: "needs root: " + why), sourceLocation: sourceLocation)
    }
}
