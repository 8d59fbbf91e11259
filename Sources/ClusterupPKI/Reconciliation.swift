import ClusterupCore
import Foundation

// Idempotency as a pure function: facts read from the PKI directory plus the plan decide what
// to issue and why. The adapter gathers the facts; nothing here reads a file.

/// What a certificate file says, as far as the plan cares.
public struct ObservedCertificate: Sendable, Equatable {
    public var subject: DistinguishedName
    /// Sorted, like the plan's.
    public var subjectAlternativeNames: [SubjectAlternativeName]
    public var notBefore: Date
    public var notAfter: Date
    public var isAuthority: Bool
    public var keyUsage: KeyUsage
    public var extendedKeyUsage: Set<ExtendedKeyUsage>
    public var keyAlgorithm: KeyAlgorithm?
    /// For a leaf: issued and signed by its CA's current certificate. For a CA: self-signed.
    public var signedByAuthority: Bool

    public init(subject: DistinguishedName, subjectAlternativeNames: [SubjectAlternativeName], notBefore: Date,
                notAfter: Date, isAuthority: Bool, keyUsage: KeyUsage, extendedKeyUsage: Set<ExtendedKeyUsage>,
                keyAlgorithm: KeyAlgorithm?, signedByAuthority: Bool) {
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.isAuthority = isAuthority
        self.keyUsage = keyUsage
        self.extendedKeyUsage = extendedKeyUsage
        self.keyAlgorithm = keyAlgorithm
        self.signedByAuthority = signedByAuthority
    }
}

public enum ObservedFile<Facts: Sendable & Equatable>: Sendable, Equatable {
    case missing
    /// Present but not usable; the reason names the problem (not PEM, encrypted...).
    case unreadable(String)
    case present(Facts)
}

/// A private key file: its algorithm and whether it pairs with the certificate next to it.
public struct ObservedKey: Sendable, Equatable {
    public var algorithm: KeyAlgorithm?
    /// nil when there is no readable certificate to compare with.
    public var matchesCertificate: Bool?

    public init(algorithm: KeyAlgorithm?, matchesCertificate: Bool?) {
        self.algorithm = algorithm
        self.matchesCertificate = matchesCertificate
    }
}

public struct ObservedPair: Sendable, Equatable {
    public var certificate: ObservedFile<ObservedCertificate>
    public var key: ObservedFile<ObservedKey>
    /// Where the pair was read from, for error messages (external CA files live elsewhere).
    public var certificatePath: String
    public var keyPath: String

    public init(certificate: ObservedFile<ObservedCertificate>, key: ObservedFile<ObservedKey>,
                certificatePath: String, keyPath: String) {
        self.certificate = certificate
        self.key = key
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// Facts about the whole directory, keyed by spec name.
public struct ObservedPKI: Sendable, Equatable {
    public var pairs: [String: ObservedPair]
    /// For an external CA: whether `ca.crt` in the PKI directory is already its certificate.
    public var externalCAInstalled: Bool
    public var serviceAccountKey: ObservedFile<ObservedKey>
    /// `matchesCertificate` here means "is the public half of sa.key".
    public var serviceAccountPublicKey: ObservedFile<ObservedKey>

    public init(pairs: [String: ObservedPair], externalCAInstalled: Bool = false,
                serviceAccountKey: ObservedFile<ObservedKey>, serviceAccountPublicKey: ObservedFile<ObservedKey>) {
        self.pairs = pairs
        self.externalCAInstalled = externalCAInstalled
        self.serviceAccountKey = serviceAccountKey
        self.serviceAccountPublicKey = serviceAccountPublicKey
    }
}

public enum AuthorityAction: Sendable, Equatable {
    case keep
    case create
    /// Copy the external CA's certificate into the PKI directory (its key stays where it is).
    case installExternal
}

public enum ServiceAccountAction: Sendable, Equatable {
    case keep
    case create
    /// sa.key exists; write its public half to sa.pub.
    case writePublicKey
}

/// Why a leaf is (re-)issued. Several can hold at once.
public enum IssueReason: Sendable, Equatable, CustomStringConvertible {
    case missing
    case unreadable(String)
    case keyMissing
    case keyUnreadable(String)
    case keyMismatch
    case keyAlgorithmChanged(from: KeyAlgorithm?, to: KeyAlgorithm)
    case authorityIssued(CertificateAuthority)
    case notSignedByAuthority(CertificateAuthority)
    case subjectChanged(from: DistinguishedName)
    case sansChanged(added: [SubjectAlternativeName], removed: [SubjectAlternativeName])
    case usagesChanged
    case expired(Date)
    case dueForRenewal(Date)
    case renewRequested

    public var description: String {
        switch self {
        case .missing: "missing"
        case .unreadable(let why): "unreadable (\(why))"
        case .keyMissing: "key missing"
        case .keyUnreadable(let why): "key unreadable (\(why))"
        case .keyMismatch: "key does not match the certificate"
        case .keyAlgorithmChanged(let from, let to): "key algorithm \(from?.rawValue ?? "unknown") -> \(to.rawValue)"
        case .authorityIssued(let ca): "its CA \(ca.rawValue) is new"
        case .notSignedByAuthority(let ca): "not signed by the current \(ca.rawValue)"
        case .subjectChanged(let from): "subject changed (was \(from))"
        case .sansChanged(let added, let removed):
            "SANs changed:" + added.map { " +\($0)" }.joined() + removed.map { " -\($0)" }.joined()
        case .usagesChanged: "key usages changed"
        case .expired(let date): "expired \(PKIDate.format(date))"
        case .dueForRenewal(let date): "expires \(PKIDate.format(date)), within the renewal threshold"
        case .renewRequested: "renewal requested"
        }
    }
}

public struct LeafDecision: Sendable, Equatable {
    public var name: String
    /// Empty: keep the existing certificate.
    public var reasons: [IssueReason]
    /// Sign a new certificate for the existing key instead of generating one.
    public var reuseKey: Bool

    public var issue: Bool { !reasons.isEmpty }
}

public struct PKIDecisions: Sendable, Equatable {
    public var authorities: [CertificateAuthority: AuthorityAction]
    public var leaves: [LeafDecision]
    public var serviceAccount: ServiceAccountAction
    /// Things the operator should know that do not stop the run.
    public var warnings: [String]

    public var changesNothing: Bool {
        authorities.values.allSatisfy { $0 == .keep } && serviceAccount == .keep && !leaves.contains(where: \.issue)
    }
}

extension PKIPlan {
    /// Decides what to issue. `renew`: leaf names or kinds to re-issue regardless of their state
    /// (`certs renew`); `rotateKeys`: give those new keys. Throws when a CA or the
    /// service-account key is in a state only the operator can resolve.
    public func decide(
        observed: ObservedPKI, now: Date, renew: Set<String> = [], rotateKeys: Bool = false
    ) throws(ClusterupError) -> PKIDecisions {
        var warnings: [String] = []
        var authorityActions: [CertificateAuthority: AuthorityAction] = [:]
        var authorityExpiry: [CertificateAuthority: Date] = [:]
        for spec in authorities {
            let ca = CertificateAuthority(rawValue: spec.name)!
            let external = ca == .kubernetes && externalCA != nil
            let pair = observed.pairs[spec.name] ?? ObservedPair(
                certificate: .missing, key: .missing, certificatePath: spec.certificatePath, keyPath: spec.keyPath)
            let facts = try Self.checkAuthority(pair, name: spec.name, external: external, now: now)
            if let facts {
                authorityExpiry[ca] = facts.notAfter
                authorityActions[ca] = external && !observed.externalCAInstalled ? .installExternal : .keep
                if facts.notAfter.timeIntervalSince(now) < renewBefore {
                    warnings.append("CA \(spec.name) expires \(PKIDate.format(facts.notAfter)); certificates it signs cannot outlive it. Plan a CA rotation.")
                }
            } else {
                authorityActions[ca] = .create
                authorityExpiry[ca] = now.addingTimeInterval(spec.validity)
            }
        }

        let leafDecisions = leaves.map { spec in
            let ca = spec.signingAuthority!
            let pair = observed.pairs[spec.name] ?? ObservedPair(
                certificate: .missing, key: .missing, certificatePath: spec.certificatePath, keyPath: spec.keyPath)
            var reasons = reasonsToIssue(spec, pair, authorityCreated: authorityActions[ca] == .create,
                                         authorityNotAfter: authorityExpiry[ca]!, now: now)
            let requested = renew.contains(spec.name) || renew.contains(spec.kind) || renew.contains("all")
            if requested && reasons.isEmpty { reasons = [.renewRequested] }
            var reuseKey = false
            if case .present(let key) = pair.key, key.algorithm == algorithm, !(requested && rotateKeys) {
                reuseKey = true
            }
            return LeafDecision(name: spec.name, reasons: reasons, reuseKey: reuseKey)
        }

        return PKIDecisions(authorities: authorityActions, leaves: leafDecisions,
                            serviceAccount: try decideServiceAccount(observed), warnings: warnings)
    }

    /// Returns the CA's facts when it can be used, nil when it must be created; throws when it
    /// exists but cannot be used, because replacing a CA invalidates everything it signed.
    static func checkAuthority(
        _ pair: ObservedPair, name: String, external: Bool, now: Date
    ) throws(ClusterupError) -> ObservedCertificate? {
        let moveAside = "move the CA's files aside deliberately to create a new CA (every certificate it signed will be re-issued), or restore the missing file"
        switch (pair.certificate, pair.key) {
        case (.missing, .missing) where !external:
            return nil
        case (.missing, _) where external:
            throw .badInput("external CA certificate not found", at: pair.certificatePath, hint: "check pki.external_ca.cert")
        case (.missing, _):
            throw .badInput("CA certificate is missing while its key is present", at: pair.certificatePath,
                            hint: moveAside)
        case (.present, .missing):
            throw .badInput("CA key is missing while its certificate exists; clusterup never replaces a CA silently",
                            at: pair.keyPath, hint: external ? "check pki.external_ca.key" : moveAside)
        case (.unreadable(let why), _):
            throw .badInput("CA certificate cannot be read: \(why)", at: pair.certificatePath,
                            hint: "it must be a PEM certificate ('BEGIN CERTIFICATE')")
        case (_, .unreadable(let why)):
            throw .badInput("CA key cannot be read: \(why)", at: pair.keyPath,
                            hint: external ? "if it is encrypted, set pki.external_ca.passphrase_env and export that variable" : "it must be a PEM private key")
        case (.present(let cert), .present(let key)):
            guard key.matchesCertificate == true else {
                throw .badInput("CA key does not match the CA certificate", at: pair.keyPath,
                                hint: "put the key that belongs to \(pair.certificatePath) there")
            }
            guard cert.isAuthority else {
                throw .badInput("certificate is not a CA (basicConstraints CA:TRUE missing)", at: pair.certificatePath,
                                hint: "use a CA certificate")
            }
            guard cert.notAfter > now else {
                throw .badInput("CA certificate expired \(PKIDate.format(cert.notAfter))", at: pair.certificatePath,
                                hint: "rotate the CA: " + moveAside)
            }
            guard cert.notBefore <= now.addingTimeInterval(300) else {
                throw .badInput("CA certificate is not valid before \(PKIDate.format(cert.notBefore))",
                                at: pair.certificatePath, hint: "check this machine's clock")
            }
            return cert
        }
    }

    func reasonsToIssue(
        _ spec: CertificateSpec, _ pair: ObservedPair, authorityCreated: Bool, authorityNotAfter: Date, now: Date
    ) -> [IssueReason] {
        let ca = spec.signingAuthority!
        var reasons: [IssueReason] = []
        switch pair.key {
        case .missing: reasons.append(.keyMissing)
        case .unreadable(let why): reasons.append(.keyUnreadable(why))
        case .present(let key):
            if key.algorithm != algorithm { reasons.append(.keyAlgorithmChanged(from: key.algorithm, to: algorithm)) }
            if key.matchesCertificate == false { reasons.append(.keyMismatch) }
        }
        let cert: ObservedCertificate
        switch pair.certificate {
        case .missing: return [.missing]
        case .unreadable(let why): return [.unreadable(why)] + reasons
        case .present(let facts): cert = facts
        }
        if authorityCreated {
            reasons.append(.authorityIssued(ca))
        } else if !cert.signedByAuthority {
            reasons.append(.notSignedByAuthority(ca))
        }
        if cert.subject != spec.subject { reasons.append(.subjectChanged(from: cert.subject)) }
        if cert.subjectAlternativeNames != spec.subjectAlternativeNames {
            let have = Set(cert.subjectAlternativeNames), want = Set(spec.subjectAlternativeNames)
            reasons.append(.sansChanged(added: want.subtracting(have).sorted(), removed: have.subtracting(want).sorted()))
        }
        if cert.keyUsage != spec.keyUsage || cert.extendedKeyUsage != Set(spec.extendedKeyUsage) || cert.isAuthority {
            reasons.append(.usagesChanged)
        }
        if cert.notAfter <= now {
            reasons.append(.expired(cert.notAfter))
        } else if cert.notAfter.timeIntervalSince(now) < renewBefore && cert.notAfter < authorityNotAfter {
            // Only when re-issuing would extend it: a leaf cannot outlive its CA.
            reasons.append(.dueForRenewal(cert.notAfter))
        }
        return reasons
    }

    func decideServiceAccount(_ observed: ObservedPKI) throws(ClusterupError) -> ServiceAccountAction {
        switch (observed.serviceAccountKey, observed.serviceAccountPublicKey) {
        case (.missing, .missing):
            return .create
        case (.missing, _):
            throw .badInput("sa.pub exists but sa.key is missing; a new key would invalidate every service-account token",
                            at: serviceAccount.privateKeyPath, hint: "restore sa.key, or remove sa.pub to create a new pair")
        case (.unreadable(let why), _):
            throw .badInput("service-account key cannot be read: \(why)", at: serviceAccount.privateKeyPath,
                            hint: "it must be a PEM private key")
        case (.present, .missing):
            return .writePublicKey
        case (.present, .unreadable):
            return .writePublicKey
        case (.present, .present(let pub)):
            // sa.pub is derived from sa.key, so a stale one is simply rewritten.
            return pub.matchesCertificate == true ? .keep : .writePublicKey
        }
    }
}

/// How every PKI report and message writes a date, locally or of certificates read from nodes.
public enum PKIDate {
    /// `2026-11-22 04:38 UTC`: unambiguous in tables and messages.
    public static func format(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
    }
}

