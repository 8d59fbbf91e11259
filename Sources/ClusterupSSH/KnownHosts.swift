import CLibSSH2
import ClusterupCore
import Foundation

/// Strict host key checking against OpenSSH known_hosts files, through libssh2's knownhost API
/// (which also matches hashed `|1|salt|hash` entries).
struct KnownHosts {
    enum Verdict: Equatable {
        case match
        case unknown
        /// The host is listed with a different key of the same type.
        case mismatch(file: String, line: Int?)
        /// The key is marked `@revoked`.
        case revoked(file: String, line: Int)
    }

    /// libssh2 does not understand markers, so `@revoked` lines are checked here. Any revoked line
    /// holding this key refuses it, whatever its host patterns say (stricter than OpenSSH, never looser).
    func revokedEntry(for key: [UInt8]) -> (file: String, line: Int)? {
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.hasPrefix("@revoked") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if fields.count >= 4, let blob = Data(base64Encoded: String(fields[3])), [UInt8](blob) == key {
                    return (file, index + 1)
                }
            }
        }
        return nil
    }

    let files: [String]

    /// The name OpenSSH writes and looks up: `host` on port 22, `[host]:port` otherwise.
    /// (Looked up as a whole so that a port-22 entry never vouches for another port, as in OpenSSH.)
    static func entryName(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    static func keyTypeMask(_ hostKeyType: Int32) -> Int32 {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
        default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN
        }
    }

    /// Host key algorithms in OpenSSH's preference order, as libssh2 1.10 names them.
    static let algorithms: [(name: String, mask: Int32)] = [
        ("ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519),
        ("ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256),
        ("ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384),
        ("ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521),
        ("ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA),
    ]

    /// Host key algorithms to offer: types already recorded for this host first, so the server
    /// shows the key we can check (as OpenSSH does), then the rest in OpenSSH's order.
    func preferredAlgorithms(session: OpaquePointer, host: String, port: Int) -> String {
        // A recorded type shows up as a mismatch when probed with a key that cannot be right.
        let probe = Array("clusterup-probe-not-a-real-key".utf8)
        let known = withCollections(session: session) { collections in
            Self.algorithms.filter { algorithm in
                collections.contains { collection in
                    check(collection.hosts, host: host, port: port, key: probe, typeMask: algorithm.mask) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH
                }
            }
        }
        let rest = Self.algorithms.filter { algorithm in !known.contains { $0.name == algorithm.name } }
        return (known + rest).map(\.name).joined(separator: ",")
    }

    func verdict(session: OpaquePointer, host: String, port: Int, key: [UInt8], keyType: Int32) -> Verdict {
        if let place = revokedEntry(for: key) { return .revoked(file: place.file, line: place.line) }
        let mask = Self.keyTypeMask(keyType)
        return withCollections(session: session) { collections in
            var mismatch: Verdict? = nil
            for collection in collections {
                switch check(collection.hosts, host: host, port: port, key: key, typeMask: mask) {
                case LIBSSH2_KNOWNHOST_CHECK_MATCH:
                    return .match
                case LIBSSH2_KNOWNHOST_CHECK_MISMATCH where mismatch == nil:
                    let line = mismatchLine(session: session, lines: collection.lines, host: host, port: port, key: key, typeMask: mask)
                    mismatch = .mismatch(file: collection.file, line: line)
                default:
                    continue
                }
            }
            return mismatch ?? .unknown
        }
    }

    private func check(_ hosts: OpaquePointer, host: String, port: Int, key: [UInt8], typeMask: Int32) -> Int32 {
        key.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                libssh2_knownhost_checkp(
                    hosts, Self.entryName(host: host, port: port), -1, chars.baseAddress, key.count,
                    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | typeMask, nil)
            }
        }
    }

    /// libssh2 does not report line numbers, so on the (rare) mismatch path each line is checked alone.
    private func mismatchLine(session: OpaquePointer, lines: [String], host: String, port: Int, key: [UInt8], typeMask: Int32) -> Int? {
        for (index, line) in lines.enumerated() {
            guard let hosts = libssh2_knownhost_init(session) else { return nil }
            defer { libssh2_knownhost_free(hosts) }
            guard libssh2_knownhost_readline(hosts, line, line.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0 else { continue }
            if check(hosts, host: host, port: port, key: key, typeMask: typeMask) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH {
                return index + 1
            }
        }
        return nil
    }

    private struct Collection {
        let file: String
        let lines: [String]
        let hosts: OpaquePointer
    }

    /// One collection per readable file. Lines are fed one by one rather than with
    /// `libssh2_knownhost_readfile`, which stops at the first line it cannot parse (for example a
    /// `@cert-authority` marker or a key type libssh2 does not know) and would hide later entries.
    private func withCollections<T>(session: OpaquePointer, _ body: ([Collection]) -> T) -> T {
        var collections: [Collection] = []
        defer { collections.forEach { libssh2_knownhost_free($0.hosts) } }
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  let hosts = libssh2_knownhost_init(session) else { continue }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for line in lines where !line.hasPrefix("@") {
                _ = libssh2_knownhost_readline(hosts, line, line.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
            }
            collections.append(Collection(file: file, lines: lines, hosts: hosts))
        }
        return body(collections)
    }

    private static let recordLock = NSLock()

    /// Appends `name algorithm base64` to the file, creating it (and a 0700 directory) if needed.
    /// One `write` with O_APPEND under a lock, because several hosts may be accepted at once.
    static func record(host: String, port: Int, key: HostKey, in file: String) throws {
        recordLock.lock()
        defer { recordLock.unlock() }
        let directory = (file as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        var prefix = ""
        if let existing = FileManager.default.contents(atPath: file), let last = existing.last, last != UInt8(ascii: "\n") {
            prefix = "\n"
        }
        let line = prefix + "\(entryName(host: host, port: port)) \(key.algorithm) \(Data(key.blob).base64EncodedString())\n"
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ClusterupError.local("cannot write known_hosts file: \(String(cString: strerror(errno)))", at: file)
        }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw ClusterupError.local("cannot append to known_hosts file: \(String(cString: strerror(errno)))", at: file)
        }
    }
}
