import COpenSSL
import Foundation

/// Reads SSH wire-format fields (RFC 4251 §5) from a key blob.
struct WireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func uint32() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string() -> [UInt8]? {
        guard let length = uint32().map(Int.init), offset + length <= bytes.count else { return nil }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    mutating func text() -> String? { string().map { String(decoding: $0, as: UTF8.self) } }
}

/// A server's public host key, as the SSH handshake delivered it.
public struct HostKey: Sendable, Equatable {
    /// The SSH algorithm name inside the blob, e.g. `ssh-ed25519`.
    public var algorithm: String
    public var blob: [UInt8]

    public init?(blob: [UInt8]) {
        var reader = WireReader(blob)
        guard let algorithm = reader.text() else { return nil }
        self.algorithm = algorithm
        self.blob = blob
    }

    /// The type as `ssh-keygen -l` names it.
    public var typeLabel: String {
        switch algorithm {
        case "ssh-ed25519": return "ED25519"
        case "ssh-rsa": return "RSA"
        case "ssh-dss": return "DSA"
        case let name where name.hasPrefix("ecdsa-sha2-"): return "ECDSA"
        default: return algorithm.uppercased()
        }
    }

    /// Key size in bits, as `ssh-keygen -l` prints it.
    public var bits: Int {
        var reader = WireReader(blob)
        _ = reader.string()
        switch algorithm {
        case "ssh-ed25519": return 256
        case "ssh-rsa":
            _ = reader.string() // e
            return reader.string().map(mpintBits) ?? 0
        case "ssh-dss":
            return reader.string().map(mpintBits) ?? 0 // p
        case "ecdsa-sha2-nistp256": return 256
        case "ecdsa-sha2-nistp384": return 384
        case "ecdsa-sha2-nistp521": return 521
        default: return 0
        }
    }

    /// `256 SHA256:<base64, no padding> (ED25519)`, the way `ssh-keygen -lf` prints it (minus the comment).
    public var fingerprint: String {
        "\(bits) \(Self.sha256Fingerprint(of: blob)) (\(typeLabel))"
    }

    /// `SHA256:<base64 without '='>` of a key blob.
    public static func sha256Fingerprint(of blob: [UInt8]) -> String {
        formatSHA256(sha256(blob))
    }

    public static func formatSHA256(_ digest: [UInt8]) -> String {
        var encoded = Data(digest).base64EncodedString()
        while encoded.hasSuffix("=") { encoded.removeLast() }
        return "SHA256:" + encoded
    }

    /// The blob of an OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
    public static func blob(fromPublicKeyLine line: String) -> [UInt8]? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, let data = Data(base64Encoded: String(fields[1])) else { return nil }
        return [UInt8](data)
    }
}

private func mpintBits(_ value: [UInt8]) -> Int {
    guard let first = value.firstIndex(where: { $0 != 0 }) else { return 0 }
    return (value.count - first - 1) * 8 + (8 - value[first].leadingZeroBitCount)
}

/// SHA-256 through OpenSSL (already linked for the PKI).
func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let ok = bytes.withUnsafeBytes { input in
        EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
    }
    precondition(ok == 1, "EVP_Digest(SHA-256) failed")
    return digest
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// SHA-256 as lowercase hex, the form `sha256sum` prints: how uploads and deploy compare a local
/// file with the one on a host.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    hexString(sha256(bytes))
}

/// What a private key file is, read without decrypting it: enough to decide whether to ask for a
/// passphrase, and to explain an RSA failure.
public struct PrivateKeyInfo: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable { case ed25519, ecdsa, rsa, dsa, unknown }

    public var kind: Kind
    public var encrypted: Bool

    public init(kind: Kind, encrypted: Bool) {
        self.kind = kind
        self.encrypted = encrypted
    }

    public static func inspect(_ text: String) -> PrivateKeyInfo {
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") { return inspectOpenSSH(text) }
        let encrypted = text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
        if text.contains("BEGIN RSA PRIVATE KEY") { return .init(kind: .rsa, encrypted: encrypted) }
        if text.contains("BEGIN EC PRIVATE KEY") { return .init(kind: .ecdsa, encrypted: encrypted) }
        if text.contains("BEGIN DSA PRIVATE KEY") { return .init(kind: .dsa, encrypted: encrypted) }
        return .init(kind: .unknown, encrypted: encrypted)
    }

    /// PROTOCOL.key: "openssh-key-v1\0", cipher, kdf, kdf options, key count, public key blob.
    private static func inspectOpenSSH(_ text: String) -> PrivateKeyInfo {
        let body = text.split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }
            .joined()
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: body) else { return .init(kind: .unknown, encrypted: false) }
        let magic = Array("openssh-key-v1".utf8) + [0]
        let bytes = [UInt8](data)
        guard bytes.starts(with: magic) else { return .init(kind: .unknown, encrypted: false) }
        var reader = WireReader(Array(bytes.dropFirst(magic.count)))
        let cipher = reader.text() ?? "none"
        _ = reader.string() // kdf name
        _ = reader.string() // kdf options
        _ = reader.uint32() // number of keys
        let algorithm = reader.string().flatMap { HostKey(blob: $0)?.algorithm } ?? ""
        let kind: Kind
        switch algorithm {
        case "ssh-ed25519": kind = .ed25519
        case "ssh-rsa": kind = .rsa
        case "ssh-dss": kind = .dsa
        case let name where name.hasPrefix("ecdsa-sha2-"): kind = .ecdsa
        default: kind = .unknown
        }
        return .init(kind: kind, encrypted: cipher != "none")
    }
}
