import ClusterupCore
import Foundation

/// Where `--plot` writes its picture. Checked before anything is broken: a run that disrupts the
/// cluster and then cannot keep its picture would have to be repeated.
enum PlotFile {
    /// Opens `path` for writing without truncating it, and removes it again when it did not exist:
    /// the one honest test of "can we write there" (permissions, read-only file systems, missing
    /// directories), also as root.
    static func checkWritable(_ path: String, option: String = "--plot") throws(ClusterupError) {
        var isDirectory: ObjCBool = false
        let existed = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if existed && isDirectory.boolValue {
            throw .badInput("cannot write the plot to \(path): it is a directory", at: option, hint: "name a file, e.g. \(path)/failover.svg")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw .badInput("cannot write the plot to \(path): \(reason)", at: option,
                            hint: "name a file in a directory that exists and this user can write to")
        }
        close(fd)
        if !existed { unlink(path) }
    }

    /// Writes the picture whole or not at all (a temporary file renamed over `path`).
    static func write(_ svg: String, to path: String, option: String = "--plot") throws(ClusterupError) {
        do {
            try Data(svg.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .local("cannot write the plot to \(path): \(error.localizedDescription)", hint: "check \(option)")
        }
    }
}
