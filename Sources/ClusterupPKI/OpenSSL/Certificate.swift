import COpenSSL
import ClusterupCore
import Foundation

/// An X.509 certificate (X509*), built from a `CertificateSpec` or read from PEM.
public final class Certificate: @unchecked Sendable {
    // Never mutated after issue/parse; X509 is safe to read concurrently.
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_free(pointer) }

    public init(pem: Data) throws(OpenSSLFailure) {
        ERR_clear_error()
        guard let x509 = MemoryBIO.reading(pem, { PEM_read_bio_X509($0, nil, nil, nil) }) else {
            throw OpenSSLFailure("not a PEM certificate")
        }
        pointer = x509
    }

    public func pem() throws(OpenSSLFailure) -> Data {
        try MemoryBIO.writing("encoding a certificate") { PEM_write_bio_X509($0, pointer) }
    }

    /// Clock skew between nodes must not make a fresh certificate "not yet valid".
    static let backdating: TimeInterval = 300

    /// Issues the certificate `spec` describes for `key`'s public half, signed with SHA-256 by
    /// `issuer` (nil: self-signed with `key`). Validity is clamped to the issuer's notAfter.
    public static func issue(
        _ spec: CertificateSpec, for key: PrivateKey, issuer: (certificate: Certificate, key: PrivateKey)?, now: Date
    ) throws(OpenSSLFailure) -> Certificate {
        guard let x509 = X509_new() else { throw OpenSSLFailure("allocating a certificate") }
        let certificate = Certificate(owning: x509)
        guard X509_set_version(x509, 2) == 1 else { throw OpenSSLFailure("setting version 3") }
        try setRandomSerial(x509)

        let subject = try makeName(spec.subject)
        defer { X509_NAME_free(subject) }
        guard X509_set_subject_name(x509, subject) == 1,
              X509_set_issuer_name(x509, issuer.map { X509_get_subject_name($0.certificate.pointer) } ?? subject) == 1
        else { throw OpenSSLFailure("setting subject and issuer") }

        var notAfter = now.addingTimeInterval(spec.validity)
        if let issuer {
            notAfter = min(notAfter, issuer.certificate.notAfter)
        }
        guard ASN1_TIME_set(X509_getm_notBefore(x509), time_t(now.timeIntervalSince1970 - backdating)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(x509), time_t(notAfter.timeIntervalSince1970)) != nil
        else { throw OpenSSLFailure("setting validity") }
        guard X509_set_pubkey(x509, key.pointer) == 1 else { throw OpenSSLFailure("setting the public key") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.certificate.pointer ?? x509, x509, nil, nil, 0)
        for (nid, value) in extensionValues(spec) {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw OpenSSLFailure("building extension \(String(validatingCString: OBJ_nid2sn(nid)) ?? "\(nid)") = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else { throw OpenSSLFailure("adding an extension") }
        }
        guard X509_sign(x509, issuer?.key.pointer ?? key.pointer, EVP_sha256()) > 0 else {
            throw OpenSSLFailure("signing \(spec.name)")
        }
        return certificate
    }

    /// Extensions in OpenSSL's configuration syntax. Safe to render as text: SANs were validated
    /// (no commas or colons beyond IPv6 literals), everything else is fixed.
    static func extensionValues(_ spec: CertificateSpec) -> [(Int32, String)] {
        var values: [(Int32, String)] = []
        switch spec.signer {
        case .selfSigned(let pathLength):
            values.append((NID_basic_constraints, "critical,CA:TRUE,pathlen:\(pathLength)"))
        case .authority:
            values.append((NID_basic_constraints, "critical,CA:FALSE"))
        }
        values.append((NID_key_usage, "critical," + spec.keyUsage.openSSLNames.joined(separator: ",")))
        if !spec.extendedKeyUsage.isEmpty {
            values.append((NID_ext_key_usage, spec.extendedKeyUsage.map(\.name).joined(separator: ",")))
        }
        // The subject key identifier first: a self-signed CA's authority key identifier copies it.
        values.append((NID_subject_key_identifier, "hash"))
        values.append((NID_authority_key_identifier, "keyid:always"))
        if !spec.subjectAlternativeNames.isEmpty {
            values.append((NID_subject_alt_name, spec.subjectAlternativeNames.map(\.description).joined(separator: ",")))
        }
        return values
    }

    /// A positive serial of 159 random bits (RFC 5280 allows 20 octets; CAs must use ≥ 64 bits).
    static func setRandomSerial(_ x509: OpaquePointer) throws(OpenSSLFailure) {
        var bytes = [UInt8](repeating: 0, count: 20)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw OpenSSLFailure("drawing a random serial") }
        bytes[0] = (bytes[0] & 0x7F) | 0x40  // positive, and the full 20 octets long
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw OpenSSLFailure("serial") }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509)) != nil else { throw OpenSSLFailure("serial") }
    }

    static func makeName(_ name: DistinguishedName) throws(OpenSSLFailure) -> OpaquePointer {
        guard let result = X509_NAME_new() else { throw OpenSSLFailure("allocating a name") }
        for (field, value) in name.organizations.map({ ("O", $0) }) + [("CN", name.commonName)] {
            guard X509_NAME_add_entry_by_txt(result, field, MBSTRING_UTF8, value, -1, -1, 0) == 1 else {
                X509_NAME_free(result)
                throw OpenSSLFailure("setting \(field)=\(value)")
            }
        }
        return result
    }

    // MARK: Reading

    public var notBefore: Date { Self.date(X509_get0_notBefore(pointer)) }
    public var notAfter: Date { Self.date(X509_get0_notAfter(pointer)) }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    public var subject: DistinguishedName {
        guard let name = X509_get_subject_name(pointer) else { return DistinguishedName(commonName: "") }
        var result = DistinguishedName(commonName: "")
        for index in 0..<X509_NAME_entry_count(name) {
            guard let entry = X509_NAME_get_entry(name, index),
                  let data = X509_NAME_ENTRY_get_data(entry) else { continue }
            let value = Self.string(UnsafePointer(data))
            switch OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) {
            case NID_commonName: result.commonName = value
            case NID_organizationName: result.organizations.append(value)
            default: break
            }
        }
        return result
    }

    static func string(_ asn1: UnsafePointer<ASN1_STRING>) -> String {
        let length = Int(ASN1_STRING_length(asn1))
        guard let bytes = ASN1_STRING_get0_data(asn1), length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    static func bytes(_ asn1: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(asn1))
        guard let bytes = ASN1_STRING_get0_data(asn1), length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }

    /// DNS and IP SANs, sorted; other forms are ignored (the plan never makes them).
    public var subjectAlternativeNames: [SubjectAlternativeName] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [SubjectAlternativeName] = []
        for index in 0..<OPENSSL_sk_num(names) {
            guard let general = OPENSSL_sk_value(names, index) else { continue }
            var type: Int32 = 0
            guard let value = GENERAL_NAME_get0_value(general.assumingMemoryBound(to: GENERAL_NAME.self), &type) else { continue }
            let string = value.assumingMemoryBound(to: ASN1_STRING.self)
            switch type {
            case GEN_DNS: result.append(.dnsName(Self.string(string).lowercased()))
            case GEN_IPADD: if let ip = IPAddress(bytes: Self.bytes(string)) { result.append(.ipAddress(ip)) }
            default: break
            }
        }
        return Array(Set(result)).sorted()
    }

    public var isAuthority: Bool { X509_get_extension_flags(pointer) & UInt32(EXFLAG_CA) != 0 }

    public var keyUsage: KeyUsage {
        let bits = X509_get_key_usage(pointer)
        guard bits != UInt32.max else { return [] }
        var usage: KeyUsage = []
        if bits & UInt32(KU_DIGITAL_SIGNATURE) != 0 { usage.insert(.digitalSignature) }
        if bits & UInt32(KU_KEY_ENCIPHERMENT) != 0 { usage.insert(.keyEncipherment) }
        if bits & UInt32(KU_KEY_CERT_SIGN) != 0 { usage.insert(.keyCertSign) }
        if bits & UInt32(KU_CRL_SIGN) != 0 { usage.insert(.cRLSign) }
        return usage
    }

    public var extendedKeyUsage: Set<ExtendedKeyUsage> {
        let bits = X509_get_extended_key_usage(pointer)
        guard bits != UInt32.max else { return [] }
        var usage: Set<ExtendedKeyUsage> = []
        if bits & UInt32(XKU_SSL_SERVER) != 0 { usage.insert(.serverAuth) }
        if bits & UInt32(XKU_SSL_CLIENT) != 0 { usage.insert(.clientAuth) }
        return usage
    }

    public var keyAlgorithm: KeyAlgorithm? {
        X509_get0_pubkey(pointer).flatMap(PrivateKey.algorithm(of:))
    }

    /// Whether `issuer` issued this certificate: names and key identifiers chain, and the
    /// signature verifies with the issuer's public key.
    public func isIssued(by issuer: Certificate) -> Bool {
        defer { ERR_clear_error() }
        guard X509_check_issued(issuer.pointer, pointer) == X509_V_OK,
              let publicKey = X509_get0_pubkey(issuer.pointer) else { return false }
        return X509_verify(pointer, publicKey) == 1
    }

    public func matches(_ key: PrivateKey) -> Bool {
        guard let publicKey = X509_get0_pubkey(pointer) else { return false }
        return key.pairs(withPublicKey: publicKey)
    }

    public func sameCertificate(as other: Certificate) -> Bool { X509_cmp(pointer, other.pointer) == 0 }

    /// Full path validation against `authority` as the only trust anchor, at `time`
    /// (X509_verify_cert). Returns nil when valid, else OpenSSL's reason.
    public func verificationFailure(against authority: Certificate, at time: Date) -> String? {
        guard let store = X509_STORE_new() else { return "cannot allocate a store" }
        defer { X509_STORE_free(store) }
        guard X509_STORE_add_cert(store, authority.pointer) == 1, let context = X509_STORE_CTX_new() else {
            return "cannot set up verification"
        }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, pointer, nil) == 1 else { return "cannot set up verification" }
        X509_STORE_CTX_set_time(context, 0, time_t(time.timeIntervalSince1970))
        defer { ERR_clear_error() }
        if X509_verify_cert(context) == 1 { return nil }
        return String(validatingCString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(context)))) ?? "verification failed"
    }

    /// The facts the planner compares; `signedByAuthority` against `authority`, or self for a CA.
    func facts(authority: Certificate?) -> ObservedCertificate {
        ObservedCertificate(
            subject: subject, subjectAlternativeNames: subjectAlternativeNames,
            notBefore: notBefore, notAfter: notAfter, isAuthority: isAuthority,
            keyUsage: keyUsage, extendedKeyUsage: extendedKeyUsage, keyAlgorithm: keyAlgorithm,
            signedByAuthority: isIssued(by: authority ?? self))
    }
}
