import CLibSSH2
import ClusterupCore
import Foundation

extension SSHConnection {
    /// Puts `bytes` at `path` with `mode` (and owner/group when given), atomically: written to a
    /// temporary file in the same directory, then renamed over the target, so readers see the old
    /// or the new file, never half of one. Skipped when the file already has the same content,
    /// mode, owner and group. Returns whether anything changed.
    ///
    /// With `sudo` (and a non-root login with sudo configured) the bytes go by SFTP to a private temp
    /// file in /tmp first, then `sudo install` places them.
    @discardableResult
    public func upload(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644, owner: String? = nil,
                       group: String? = nil, sudo: Bool = false, timeout: Double? = nil) throws -> Bool {
        guard path.hasPrefix("/"), !path.hasSuffix("/") else {
            throw ClusterupError.badInput("upload target '\(path)' is not an absolute file path", at: target.name)
        }
        let seconds = timeout ?? target.commandTimeout
        let wanted = RemoteFileState(sha256: hexString(sha256(bytes)), mode: mode, owner: owner, group: group)
        let probe = try run(RemoteFileState.probeCommand(path), sudo: sudo, timeout: seconds)
        if RemoteFileState.parse(probe.stdoutText)?.satisfies(wanted) == true { return false }

        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let staged = "\(directory.isEmpty ? "" : directory)/.\(base).clusterup-\(token)"
        let modeText = String(mode, radix: 8)
        let useSudo = sudo && target.effectiveSudo != .none

        if useSudo {
            let spool = "/tmp/.clusterup-\(token)"
            try sftpWrite(bytes, to: spool, mode: 0o600, seconds: seconds)
            var install = ["install", "-m", modeText]
            if let owner { install += ["-o", owner] }
            if let group { install += ["-g", group] }
            let script = Self.sudoInstallScript(install: install, spool: spool, staged: staged, path: path)
            // The spool file belongs to the login user, so clean it up without sudo if sudo failed.
            let result = try run(script, sudo: true, timeout: seconds)
            if !result.succeeded {
                _ = try? run("rm -f -- \(Shell.quote(spool))", timeout: seconds)
                throw uploadFailed(path, result)
            }
        } else {
            try sftpWrite(bytes, to: staged, mode: mode, seconds: seconds)
            var script = "chmod \(modeText) -- \(Shell.quote(staged))"
            if owner != nil || group != nil {
                script += " && chown \(Shell.quote((owner ?? "") + (group.map { ":" + $0 } ?? ""))) -- \(Shell.quote(staged))"
            }
            script += " && mv -f -- \(Shell.quote(staged)) \(Shell.quote(path)) || { rc=$?; rm -f -- \(Shell.quote(staged)); exit $rc; }"
            let result = try run(script, timeout: seconds)
            if !result.succeeded { throw uploadFailed(path, result) }
        }
        return true
    }

    /// One file for `uploadAll`.
    public struct UploadFile: Sendable {
        public var bytes: [UInt8]
        public var path: String
        public var mode: UInt32
        public var owner: String?
        public var group: String?

        public init(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644, owner: String? = nil, group: String? = nil) {
            self.bytes = bytes
            self.path = path
            self.mode = mode
            self.owner = owner
            self.group = group
        }
    }

    /// Puts several files in place, each atomically like `upload` (temp file beside it, then a
    /// rename), without asking first whether each already has that content: for callers that
    /// compared already (deploy's plan). The content goes over the one SFTP session; then one
    /// script per batch sets modes and owners (one chmod per mode, one chown per owner) and
    /// renames every file, where `upload` needs two commands per file. If writing a file's content fails, no file of its batch (64) is put in
    /// place; if putting one in place fails, the files before it are in place, it and those after
    /// it are untouched. Temp files are removed either way.
    public func uploadAll(_ files: [UploadFile], sudo: Bool = false, timeout: Double? = nil) throws {
        for file in files where !file.path.hasPrefix("/") || file.path.hasSuffix("/") {
            throw ClusterupError.badInput("upload target '\(file.path)' is not an absolute file path", at: target.name)
        }
        let seconds = timeout ?? target.commandTimeout
        let useSudo = sudo && target.effectiveSudo != .none
        // Batches keep each script well under the kernel's limit for one argument (128 KiB).
        for start in stride(from: 0, to: files.count, by: 64) {
            let batch = files[start..<min(start + 64, files.count)]
            var written: [String] = []
            var lines: [String] = []
            // Without sudo: modes and owners set with one chmod per mode and one chown per owner
            // for the whole batch, then one rename per file (three processes per file before).
            var byMode: [UInt32: [String]] = [:]
            var byOwner: [String: [String]] = [:]
            var renames: [String] = []
            do {
                for file in batch {
                    let directory = (file.path as NSString).deletingLastPathComponent
                    let base = (file.path as NSString).lastPathComponent
                    let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
                    let staged = "\(directory)/.\(base).clusterup-\(token)"
                    let modeText = String(file.mode, radix: 8)
                    let quotedPath = Shell.quote(file.path)
                    let failed = "|| { echo \(Shell.quote("could not put \(file.path) in place")) >&2; exit 1; }"
                    if useSudo {
                        let spool = "/tmp/.clusterup-\(token)"
                        try sftpWrite(file.bytes, to: spool, mode: 0o600, seconds: seconds)
                        written += [spool, staged]
                        var install = ["install", "-m", modeText]
                        if let owner = file.owner { install += ["-o", owner] }
                        if let group = file.group { install += ["-g", group] }
                        lines.append(Shell.quote(install + ["--", spool, staged]) + " && mv -f -T -- \(Shell.quote(staged)) \(quotedPath) \(failed)")
                    } else {
                        try sftpWrite(file.bytes, to: staged, mode: file.mode, seconds: seconds)
                        written.append(staged)
                        byMode[file.mode, default: []].append(staged)
                        if file.owner != nil || file.group != nil {
                            byOwner[(file.owner ?? "") + (file.group.map { ":" + $0 } ?? ""), default: []].append(staged)
                        }
                        // -T: a directory in the way is an error, not a place to move the file into.
                        renames.append("mv -f -T -- \(Shell.quote(staged)) \(quotedPath) \(failed)")
                    }
                }
            } catch {
                if !written.isEmpty { _ = try? run("rm -f -- " + Shell.quote(written), sudo: useSudo, timeout: seconds) }
                throw error
            }
            let metadataFailed = "|| { echo \(Shell.quote("could not set the mode or owner of \(batch.count) file(s); none was put in place")) >&2; exit 1; }"
            for (mode, staged) in byMode.sorted(by: { $0.key < $1.key }) {
                lines.append("chmod \(String(mode, radix: 8)) -- \(Shell.quote(staged)) \(metadataFailed)")
            }
            for (owner, staged) in byOwner.sorted(by: { $0.key < $1.key }) {
                lines.append("chown \(Shell.quote(owner)) -- \(Shell.quote(staged)) \(metadataFailed)")
            }
            lines += renames
            let cleanup = Shell.removeOnExit(written)
            let result = try run(([cleanup] + lines).joined(separator: "\n"), sudo: useSudo, timeout: seconds)
            if !result.succeeded {
                if useSudo { _ = try? run("rm -f -- " + Shell.quote(written.filter { $0.hasPrefix("/tmp/") }), timeout: seconds) }
                let stderr = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
                throw ClusterupError.remote(
                    stderr.isEmpty ? "putting \(batch.count) file(s) in place failed with status \(result.exitStatus)" : stderr,
                    host: target.name,
                    hint: "files listed before it are in place, the others untouched; check the directory exists and the permissions (or configure sudo)")
            }
        }
    }

    /// `install` the spooled file beside the target, then rename it over the target; both
    /// temporary files go when the script exits, whatever happens.
    static func sudoInstallScript(install: [String], spool: String, staged: String, path: String) -> String {
        Shell.removeOnExit([spool, staged]) + "; "
            + Shell.quote(install + ["--", spool, staged]) + " && " + Shell.quote(["mv", "-f", "--", staged, path])
    }

    private func uploadFailed(_ path: String, _ result: CommandResult) -> ClusterupError {
        ClusterupError.remote(
            "could not put \(path) in place: \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))",
            host: target.name,
            hint: "the previous file (if any) is untouched; check the directory exists and the permissions (or configure sudo)")
    }

    /// Reads a whole remote file (by SFTP, or `sudo cat` when `sudo` is asked for a non-root login).
    public func download(_ path: String, sudo: Bool = false, timeout: Double? = nil) throws -> [UInt8] {
        let seconds = timeout ?? target.commandTimeout
        if sudo && target.user != "root" {
            return try check("cat -- \(Shell.quote(path))", sudo: true, timeout: seconds).stdout
        }
        return try locked {
            let deadline = Deadline(seconds: seconds)
            let sftp = try sftpSession(deadline)
            let handle = try sftpOpen(sftp, path, flags: UInt(LIBSSH2_FXF_READ), mode: 0, deadline, for: "read")
            defer { _ = try? core.retry(Deadline(seconds: 1)) { libssh2_sftp_close_handle(handle) } }
            var content: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let n = try core.retry(deadline) {
                    Int32(truncatingIfNeeded: buffer.withUnsafeMutableBufferPointer { raw in
                        raw.withMemoryRebound(to: CChar.self) { libssh2_sftp_read(handle, $0.baseAddress, $0.count) }
                    })
                }
                if n == 0 { break }
                guard n > 0 else { throw sftpError(sftp, "reading \(path) failed") }
                content += buffer[0..<Int(n)]
            }
            return content
        }
    }

    private func sftpWrite(_ bytes: [UInt8], to path: String, mode: UInt32, seconds: Double) throws {
        try locked {
            let deadline = Deadline(seconds: seconds)
            let sftp = try sftpSession(deadline)
            let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL)
            let handle = try sftpOpen(sftp, path, flags: flags, mode: Int(mode), deadline, for: "write")
            var offset = 0
            do {
                while offset < bytes.count {
                    let n = try core.retry(deadline) {
                        Int32(truncatingIfNeeded: bytes.withUnsafeBufferPointer { raw in
                            raw.withMemoryRebound(to: CChar.self) {
                                libssh2_sftp_write(handle, $0.baseAddress! + offset, min(bytes.count - offset, 1 << 20))
                            }
                        })
                    }
                    guard n > 0 else { throw sftpError(sftp, "writing \(path) failed") }
                    offset += Int(n)
                }
                guard try core.retry(deadline, { libssh2_sftp_close_handle(handle) }) == 0 else {
                    throw sftpError(sftp, "closing \(path) failed")
                }
            } catch {
                _ = try? core.retry(Deadline(seconds: 1)) { libssh2_sftp_close_handle(handle) }
                _ = try? core.retry(Deadline(seconds: 1)) { libssh2_sftp_unlink_ex(sftp, path, UInt32(path.utf8.count)) }
                throw error is DeadlineExceeded ? timedOut("SFTP write of \(path)", seconds) : error
            }
        }
    }

    /// The connection's SFTP subsystem, started on first use and kept (one channel).
    private func sftpSession(_ deadline: Deadline) throws -> OpaquePointer {
        if let sftp { return sftp }
        guard let opened = try core.retryPointer(deadline, { libssh2_sftp_init(core.raw) }) else {
            throw libssh2Failure("cannot start SFTP", hint: "enable the sftp subsystem in sshd_config (Subsystem sftp ...)")
        }
        sftp = opened
        return opened
    }

    private func sftpOpen(_ sftp: OpaquePointer, _ path: String, flags: UInt, mode: Int, _ deadline: Deadline,
                          for purpose: String) throws -> OpaquePointer {
        let handle = try core.retryPointer(deadline) {
            libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), flags, mode, LIBSSH2_SFTP_OPENFILE)
        }
        guard let handle else { throw sftpError(sftp, "cannot open \(path) to \(purpose)") }
        return handle
    }

    private func sftpError(_ sftp: OpaquePointer, _ what: String) -> ClusterupError {
        let status = libssh2_sftp_last_error(sftp)
        let reason: String
        switch status {
        case UInt(LIBSSH2_FX_NO_SUCH_FILE): reason = "no such file or directory"
        case UInt(LIBSSH2_FX_PERMISSION_DENIED): reason = "permission denied"
        // No SFTP status: the session under it failed (libssh2's own error says how).
        case 0: return libssh2Failure(what)
        default: reason = "SFTP status \(status)"
        }
        return ClusterupError.remote("\(what): \(reason)", host: target.name,
                                     hint: status == UInt(LIBSSH2_FX_PERMISSION_DENIED) ? "log in as root or configure ssh.sudo" : nil)
    }
}

/// Content digest and metadata of a remote file, as one shell probe reports them.
struct RemoteFileState: Equatable {
    var sha256: String
    var mode: UInt32
    var owner: String?
    var group: String?

    /// Prints `<sha256>  <path>` then `<octal mode> <owner> <group>`, or nothing if the file is absent.
    static func probeCommand(_ path: String) -> String {
        let quoted = Shell.quote(path)
        return "if [ -f \(quoted) ]; then sha256sum -- \(quoted) && stat -c '%a %U %G' -- \(quoted); fi"
    }

    static func parse(_ output: String) -> RemoteFileState? {
        let lines = output.split(separator: "\n")
        guard lines.count >= 2, let digest = lines[0].split(separator: " ").first else { return nil }
        let fields = lines[1].split(separator: " ")
        guard fields.count == 3, let mode = UInt32(fields[0], radix: 8) else { return nil }
        return RemoteFileState(sha256: String(digest), mode: mode, owner: String(fields[1]), group: String(fields[2]))
    }

    /// Same content and mode; owner and group only compared when asked for.
    func satisfies(_ wanted: RemoteFileState) -> Bool {
        sha256 == wanted.sha256 && mode == wanted.mode
            && (wanted.owner == nil || wanted.owner == owner) && (wanted.group == nil || wanted.group == group)
    }
}
