import COpenSSL
import ClusterupCore
import Foundation

/// A failure inside the adapter; callers turn it into a `ClusterupError` naming the file.
public struct OpenSSLFailure: Error, CustomStringConvertible {
    public var description: String

    /// The operation that failed plus whatever OpenSSL queued, draining its error queue.
    init(_ operation: String) {
        var details: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(String(cBuffer: buffer))
        }
        description = details.isEmpty ? operation : "\(operation): \(details.joined(separator: "; "))"
    }
}

enum MemoryBIO {
    /// Runs `body` with a read-only BIO over `data`.
    static func reading<T>(_ data: Data, _ body: (OpaquePointer) throws -> T) rethrows -> T {
        try data.withUnsafeBytes { raw in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))!
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Collects what `body` writes into a fresh memory BIO.
    static func writing(_ operation: String, _ body: (OpaquePointer) -> Int32) throws(OpenSSLFailure) -> Data {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw OpenSSLFailure(operation) }
        var pointer: UnsafeMutablePointer<CChar>?
        let count = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard let pointer, count > 0 else { throw OpenSSLFailure(operation) }
        return Data(bytes: pointer, count: count)
    }
}

/// A private key (EVP_PKEY). Never printed: there is deliberately no description of its contents.
public final class PrivateKey: @unchecked Sendable {
    // EVP_PKEY is immutable once built; OpenSSL allows concurrent use for signing.
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    public static func generate(_ algorithm: KeyAlgorithm) throws(OpenSSLFailure) -> PrivateKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm.rsaBits == nil ? "EC" : "RSA", nil) else {
            throw OpenSSLFailure("creating a key generation context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw OpenSSLFailure("starting key generation") }
        if let bits = algorithm.rsaBits {
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1 else { throw OpenSSLFailure("setting RSA bits") }
        } else {
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else { throw OpenSSLFailure("choosing P-256") }
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw OpenSSLFailure("generating a \(algorithm.rawValue) key") }
        return PrivateKey(owning: key)
    }

    /// Reads a PEM private key (PKCS#8, traditional, or encrypted with `passphrase`).
    public init(pem: Data, passphrase: String? = nil) throws(OpenSSLFailure) {
        let text = String(decoding: pem.prefix(4096), as: UTF8.self)
        if passphrase == nil, text.contains("ENCRYPTED") {
            throw OpenSSLFailure("the key is encrypted and no passphrase was given")
        }
        ERR_clear_error()
        // Never let OpenSSL prompt on the terminal.
        let noPrompt: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in -1 }
        let key: OpaquePointer? = MemoryBIO.reading(pem) { bio in
            if let passphrase {
                return passphrase.withCString { PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: $0)) }
            }
            return PEM_read_bio_PrivateKey(bio, nil, noPrompt, nil)
        }
        guard let key else {
            throw OpenSSLFailure(passphrase == nil ? "not a PEM private key" : "cannot decrypt the key (wrong passphrase?)")
        }
        pointer = key
    }

    /// PKCS#8 PEM ("BEGIN PRIVATE KEY"), unencrypted: it is written 0600 and only there.
    public func pkcs8PEM() throws(OpenSSLFailure) -> Data {
        try MemoryBIO.writing("encoding a private key") { PEM_write_bio_PrivateKey($0, pointer, nil, nil, 0, nil, nil) }
    }

    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), as kube-apiserver reads sa.pub.
    public func publicKeyPEM() throws(OpenSSLFailure) -> Data {
        try MemoryBIO.writing("encoding a public key") { PEM_write_bio_PUBKEY($0, pointer) }
    }

    public var algorithm: KeyAlgorithm? { Self.algorithm(of: pointer) }

    static func algorithm(of key: OpaquePointer) -> KeyAlgorithm? {
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA:
            return KeyAlgorithm.allCases.first { $0.rsaBits == EVP_PKEY_get_bits(key) }
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else { return nil }
            return ["prime256v1", "P-256"].contains(String(cBuffer: name)) ? .ecdsaP256 : nil
        default:
            return nil
        }
    }

    /// Whether `publicKey` is this key's public half.
    func pairs(withPublicKey publicKey: OpaquePointer) -> Bool {
        EVP_PKEY_eq(pointer, publicKey) == 1
    }
}

/// A PEM public key file (sa.pub).
final class PublicKey {
    let pointer: OpaquePointer
    init(pem: Data) throws(OpenSSLFailure) {
        ERR_clear_error()
        guard let key = MemoryBIO.reading(pem, { PEM_read_bio_PUBKEY($0, nil, nil, nil) }) else {
            throw OpenSSLFailure("not a PEM public key")
        }
        pointer = key
    }
    deinit { EVP_PKEY_free(pointer) }
}

extension String {
    /// Text of a NUL-terminated C buffer.
    init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
