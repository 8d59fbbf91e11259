import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file to write: path relative to the PKI directory, contents, permission bits.
public struct FileWrite: Sendable, Equatable {
    public var path: String
    public var contents: Data
    public var mode: mode_t
    /// Flushed to disk before it replaces anything: what cannot be re-issued (CA and
    /// service-account keys) must not turn into an empty file after a crash. Leaves can be.
    public var durable = false

    public static func certificate(_ path: String, _ contents: Data) -> FileWrite { .init(path: path, contents: contents, mode: 0o644) }
    /// Keys and anything embedding a key (kubeconfigs).
    public static func secret(_ path: String, _ contents: Data) -> FileWrite { .init(path: path, contents: contents, mode: 0o600) }

    public var flushed: FileWrite {
        var copy = self
        copy.durable = true
        return copy
    }
}

/// The PKI directory on this machine: reads files, and writes batches all-or-nothing.
public struct PKIDirectory: Sendable {
    public let root: String
    /// rename(2); replaceable so tests can fail the commit phase half-way.
    let renameFile: @Sendable (String, String) -> Int32

    public init(root: String) { self.init(root: root, renameFile: { Glibc.rename($0, $1) }) }

    init(root: String, renameFile: @escaping @Sendable (String, String) -> Int32) {
        self.root = root
        self.renameFile = renameFile
    }

    public func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : root + "/" + path
    }

    public enum ReadResult: Sendable, Equatable {
        case missing
        case contents(Data)
    }

    /// Reads a file; a missing file is a normal answer, any other failure an error naming it.
    public func read(_ path: String) throws(ClusterupError) -> ReadResult {
        let full = absolute(path)
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            throw .local("cannot read: \(String(cBuffer: strerrorBuffer(errno)))", at: full,
                         hint: "check the file's permissions (run clusterup as the user owning the PKI directory)")
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw .local("cannot read: \(String(cBuffer: strerrorBuffer(errno)))", at: full)
            }
            data.append(buffer, count: count)
        }
        return .contents(data)
    }

    /// Writes every file or none: each goes to a temporary file beside its target first; only
    /// when all are staged are they renamed into place. Files whose contents are unchanged are
    /// skipped, so their modification times stay. Returns the paths actually written.
    @discardableResult
    public func write(_ writes: [FileWrite]) throws(ClusterupError) -> [String] {
        let needed = try changes(writes)
        guard !needed.isEmpty else { return [] }
        try makeDirectories(for: needed.map(\.path))

        var staged: [(temporary: String, write: FileWrite)] = []
        func discardStaged() { for item in staged { unlink(item.temporary) } }
        for write in needed {
            let target = absolute(write.path)
            let temporary = temporaryPath(for: target)
            do throws(ClusterupError) {
                try writeNew(temporary, write.contents, mode: write.mode, sync: write.durable)
            } catch {
                discardStaged()
                throw error.adding(hint: "nothing was changed in \(root)")
            }
            staged.append((temporary, write))
        }
        var renamed: [String] = []
        for (index, item) in staged.enumerated() {
            guard renameFile(item.temporary, absolute(item.write.path)) != 0 else {
                renamed.append(item.write.path)
                continue
            }
            let reason = String(cBuffer: strerrorBuffer(errno))
            for rest in staged[index...] { unlink(rest.temporary) }
            let notWritten = staged[index...].map(\.write.path)
            throw .local("cannot move \(item.temporary) into place: \(reason)", at: absolute(item.write.path),
                         hint: "written: \(renamed.isEmpty ? "none" : renamed.joined(separator: ", ")); NOT written: \(notWritten.joined(separator: ", ")). Fix the problem and run the command again; it completes the set.")
        }
        syncDirectories(of: staged.map(\.write).filter(\.durable).map(\.path))
        return renamed
    }

    /// Makes the renames of durable files themselves durable. Best effort: the data already is.
    private func syncDirectories(of paths: [String]) {
        for directory in Set(paths.map { (absolute($0) as NSString).deletingLastPathComponent }) {
            let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            _ = fsync(fd)
            close(fd)
        }
    }

    /// Restricts the root and every directory below it to 0700 (they hold private keys) and
    /// returns those that were looser. Files are not touched.
    public func tightenDirectoryModes() throws(ClusterupError) -> [String] {
        var directories = [root]
        if let enumerator = FileManager.default.enumerator(atPath: root) {
            while let relative = enumerator.nextObject() as? String {
                if (enumerator.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory {
                    directories.append(absolute(relative))
                }
            }
        }
        var tightened: [String] = []
        for directory in directories {
            var info = stat()
            guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_mode & 0o777 != 0o700 else { continue }
            guard chmod(directory, 0o700) == 0 else {
                throw .local("cannot restrict to mode 0700: \(String(cBuffer: strerrorBuffer(errno)))", at: directory)
            }
            tightened.append(directory)
        }
        return tightened
    }

    /// The writes that would change a file's contents or mode.
    public func changes(_ writes: [FileWrite]) throws(ClusterupError) -> [FileWrite] {
        var needed: [FileWrite] = []
        for write in writes where try read(write.path) != .contents(write.contents) || !hasMode(write.path, write.mode) {
            needed.append(write)
        }
        return needed
    }

    private func hasMode(_ path: String, _ mode: mode_t) -> Bool {
        var info = stat()
        return stat(absolute(path), &info) == 0 && info.st_mode & 0o777 == mode
    }

    private func temporaryPath(for target: String) -> String {
        let slash = target.lastIndex(of: "/").map { target.index(after: $0) } ?? target.startIndex
        return String(target[..<slash]) + "." + String(target[slash...]) + ".clusterup-\(getpid()).tmp"
    }

    /// Creates the root and every parent directory 0700, and tightens existing ones to 0700:
    /// they hold private keys.
    private func makeDirectories(for paths: [String]) throws(ClusterupError) {
        var missingAncestors: [String] = []
        var ancestor = (root as NSString).deletingLastPathComponent
        while !ancestor.isEmpty, ancestor != "/", access(ancestor, F_OK) != 0 {
            missingAncestors.insert(ancestor, at: 0)
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
        var directories: Set<String> = [root]
        for path in paths {
            var directory = (path as NSString).deletingLastPathComponent
            while !directory.isEmpty {
                directories.insert(absolute(directory))
                directory = (directory as NSString).deletingLastPathComponent
            }
        }
        for directory in missingAncestors + directories.sorted(by: { $0.count < $1.count }) {
            var info = stat()
            if stat(directory, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw .local("is not a directory", at: directory, hint: "move it away or choose another pki.directory")
                }
                if info.st_mode & 0o777 != 0o700, chmod(directory, 0o700) != 0 {
                    throw .local("cannot restrict to mode 0700: \(String(cBuffer: strerrorBuffer(errno)))", at: directory)
                }
            } else if mkdir(directory, 0o700) != 0, errno != EEXIST {
                throw .local("cannot create directory: \(String(cBuffer: strerrorBuffer(errno)))", at: directory,
                             hint: "check that you may write to its parent, or set pki.directory; nothing was changed")
            }
        }
    }

    private func writeNew(_ path: String, _ contents: Data, mode: mode_t, sync: Bool) throws(ClusterupError) {
        // O_EXCL: never follow or reuse a file someone planted; mode is set before any byte lands.
        // A leftover from a crashed run with the same pid is removed first (unlink does not follow links).
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw .local("cannot create file: \(String(cBuffer: strerrorBuffer(errno)))", at: path,
                         hint: "check that you may write to this directory")
        }
        var failure: Int32 = 0
        if fchmod(fd, mode) != 0 { failure = errno }
        contents.withUnsafeBytes { raw in
            var offset = 0
            while failure == 0, offset < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 { if errno != EINTR { failure = errno } } else { offset += count }
            }
        }
        if sync, failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure != 0 {
            unlink(path)
            throw .local("cannot write file: \(String(cBuffer: strerrorBuffer(failure)))", at: path)
        }
    }
}

func strerrorBuffer(_ code: Int32) -> [CChar] {
    var buffer = [CChar](repeating: 0, count: 256)
    _ = strerror_r(code, &buffer, buffer.count)
    return buffer
}

extension ClusterupError {
    func adding(hint extra: String) -> ClusterupError {
        var copy = self
        copy.hint = copy.hint.map { "\($0); \(extra)" } ?? extra
        return copy
    }
}
