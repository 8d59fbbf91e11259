import COpenSSL

/// SHA-256 of `bytes` as lowercase hex, the form `sha256sum` prints: what deploy compares a
/// rendered file with on the host.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    let ok = bytes.withUnsafeBytes { buffer in
        EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
    }
    precondition(ok == 1 && length == 32, "OpenSSL's SHA-256 failed")
    let hex = Array("0123456789abcdef")
    return String(digest[..<32].flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xf)]] })
}
