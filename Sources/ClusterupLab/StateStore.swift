import ClusterupCore
import Foundation

/// The lab's state on disk, written atomically after every change so a crash leaves a record of
/// everything made so far. Shared by the threads that prepare and boot nodes.
final class StateStore: @unchecked Sendable {
    // Unchecked: `state` is only touched under `lock`.
    private let lock = NSLock()
    private var current: LabState
    let paths: LabPaths

    init(_ state: LabState, paths: LabPaths) {
        self.current = state
        self.paths = paths
    }

    var state: LabState { lock.withLock { current } }

    func update(_ change: (inout LabState) -> Void) throws {
        try lock.withLock {
            change(&current)
            try Self.write(current, to: paths.stateFile)
        }
    }

    func updateNode(_ index: Int, _ change: (inout LabNode) -> Void) throws {
        try update { state in
            if let position = state.nodes.firstIndex(where: { $0.index == index }) {
                change(&state.nodes[position])
            }
        }
    }

    static func write(_ state: LabState, to path: String) throws {
        try writeFile(path, try state.encoded(), mode: 0o600)
    }

    static func load(_ paths: LabPaths) throws -> LabState? {
        guard let data = FileManager.default.contents(atPath: paths.stateFile) else { return nil }
        do {
            return try LabState.decode(data)
        } catch {
            throw ClusterupError.local(
                "cannot read lab state: \(error)", at: paths.stateFile,
                hint: "`clusterup lab down --name \(paths.name)` still removes what it can find by name")
        }
    }
}

/// Writes a file atomically (temporary file + rename) with the given mode.
func writeFile(_ path: String, _ data: Data, mode: Int) throws {
    let temporary = "\(path).tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: mode]) else {
        throw ClusterupError.local("cannot write \(temporary)")
    }
    guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw ClusterupError.local("cannot write \(path): \(reason)")
    }
}

func writeFile(_ path: String, _ text: String, mode: Int = 0o644) throws {
    try writeFile(path, Data(text.utf8), mode: mode)
}
