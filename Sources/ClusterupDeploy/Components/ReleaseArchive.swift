import ClusterupCore
import Foundation

/// A release tarball as etcd and Kubernetes publish their binaries (`etcd-v3.5.16-linux-amd64.tar.gz`,
/// `kubernetes-server-linux-amd64.tar.gz`): one member of it is the program to upload. The archive
/// reaches here only after its sha256 was checked (`ArtifactCache.fetch`); tar reads it from
/// stdin, so what it opens is the bytes that were checked, not a file that could change since.
enum ReleaseArchive {
    /// How the archive is compressed, told by its first bytes: tar cannot tell it from a pipe.
    enum Compression: Equatable {
        case gzip, xz, bzip2, zstd, none

        static func detect(_ bytes: some Collection<UInt8>) -> Compression {
            let head = Array(bytes.prefix(6))
            func starts(_ magic: [UInt8]) -> Bool { head.count >= magic.count && Array(head.prefix(magic.count)) == magic }
            if starts([0x1f, 0x8b]) { return .gzip }
            if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .xz }
            if starts([0x42, 0x5a, 0x68]) { return .bzip2 }
            if starts([0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
            return .none
        }

        /// GNU tar's option for it.
        var tarOption: String? {
            switch self {
            case .gzip: "--gzip"
            case .xz: "--xz"
            case .bzip2: "--bzip2"
            case .zstd: "--zstd"
            case .none: nil
            }
        }
    }

    /// What the inventory's `extract` names, found in the archive's listing.
    enum Lookup: Equatable {
        /// The member as the archive spells it (`./etcd` for `etcd`).
        case found(String)
        /// A directory (tar would write every file under it, one after the other).
        case directory(String)
        /// Not there; the members it may have meant: those whose last component is the
        /// program's name, else the first few files.
        case missing(suggestions: [String])
    }

    /// Finds `member` among `listing` (one name a line, as `tar -t` prints them), ignoring a
    /// leading `./` on either side and a directory's trailing `/`. Pure.
    static func lookup(_ member: String, in listing: String, program: String) -> Lookup {
        func normal(_ name: Substring) -> Substring {
            var name = name
            while name.hasPrefix("./") { name = name.dropFirst(2) }
            while name.hasSuffix("/") { name = name.dropLast() }
            return name
        }
        let names = listing.split(separator: "\n").filter { !$0.isEmpty }
        let wanted = normal(Substring(member))
        if let exact = names.first(where: { normal($0) == wanted }) {
            return exact.hasSuffix("/") ? .directory(String(exact)) : .found(String(exact))
        }
        let files = names.filter { !$0.hasSuffix("/") }
        let named = files.filter { $0.split(separator: "/").last.map(String.init) == program }
        return .missing(suggestions: (named.isEmpty ? Array(files.prefix(5)) : named).map { String(normal($0)) })
    }

    /// The bytes of `member` inside `archive` (already checked against its sha256). Blocking:
    /// runs tar twice (list, extract); call it from a dedicated thread.
    static func extract(_ member: String, from archive: [UInt8], artifact: Artifact) throws -> [UInt8] {
        let compression = Compression.detect(archive)
        let options = compression.tarOption.map { [$0] } ?? []
        let listing = try tar(["--list", "--quoting-style=literal"] + options + ["--file=-"], input: archive, artifact: artifact)
        switch lookup(member, in: String(decoding: listing, as: UTF8.self), program: artifact.name) {
        case .missing(let suggestions):
            throw artifact.error("extract", "'\(member)' is not in the archive \(urlText(artifact))",
                                 hint: suggestions.isEmpty ? "the archive holds no file" : "it holds \(suggestions.joined(separator: ", "))\(suggestions.count == 5 ? ", …" : "")")
        case .directory:
            throw artifact.error("extract", "'\(member)' in \(urlText(artifact)) is a directory, not a program",
                                 hint: "name the program's own file inside the archive (`tar -tf ARCHIVE` lists them)")
        case .found(let exact):
            let bytes = try tar(["--extract", "--to-stdout", "--no-wildcards"] + options + ["--file=-", "--", exact], input: archive, artifact: artifact)
            guard !bytes.isEmpty else {
                throw artifact.error("extract", "'\(member)' in \(urlText(artifact)) is empty or a link, not a program",
                                     hint: "name the program's own file inside the archive (`tar -tvf ARCHIVE` lists them)")
            }
            return bytes
        }
    }

    private static func urlText(_ artifact: Artifact) -> String {
        if case .url(let url, _, _) = artifact.source { return url }
        return "of \(artifact.name)"
    }

    /// Runs tar with `input` on its stdin; its stdout, or an error with its stderr.
    private static func tar(_ arguments: [String], input: [UInt8], artifact: Artifact) throws -> [UInt8] {
        guard let tar = ["/usr/bin/tar", "/bin/tar"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ClusterupError.local("tar is not installed on this machine (needed to open artifacts.\(artifact.name)'s archive)",
                                       hint: "install it: apt-get install tar")
        }
        // tar may close its stdin before the end of the archive: a write then fails, not the process.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tar)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch {
            throw ClusterupError.local("cannot run tar for artifacts.\(artifact.name): \(error)")
        }
        // Feed stdin and drain stderr on their own threads while stdout is read here: a pipe left
        // full on any side would stop tar.
        let writer = stdin.fileHandleForWriting
        let errorHandle = stderr.fileHandleForReading
        let done = DispatchGroup()
        let errorText = ErrorBox()
        done.enter()
        Thread {
            // tar may stop reading early (a listing ends at the end-of-archive blocks): EPIPE is fine.
            try? writer.write(contentsOf: input)
            try? writer.close()
            done.leave()
        }.start()
        done.enter()
        Thread {
            errorText.set(String(decoding: errorHandle.readDataToEndOfFile(), as: UTF8.self))
            done.leave()
        }.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw artifact.error(arguments.first == "--list" ? "url" : "extract",
                                 "tar could not read the archive \(urlText(artifact)): \(errorText.get().trimmingCharacters(in: .whitespacesAndNewlines))",
                                 hint: "the url must be a tar archive (plain, gzip, xz, bzip2 or zstd)")
        }
        return [UInt8](output)
    }

    private final class ErrorBox: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        func set(_ value: String) { lock.withLock { text = value } }
        func get() -> String { lock.withLock { text } }
    }
}
