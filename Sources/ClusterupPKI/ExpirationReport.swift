import ClusterupCore
import Foundation

/// What `certs check-expiration` shows: every certificate of the plan with its state on disk.
public struct ExpirationReport: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Equatable, Codable {
        case ok
        case missing
        case expired
        /// Does not verify against its CA, or its key is missing or does not match.
        case invalid
        /// Valid, but no longer what the inventory asks for; `certs gen` will re-issue it.
        case outdated
    }

    public struct Entry: Sendable, Equatable, Codable {
        public var name: String
        public var node: String?
        public var path: String
        public var expires: Date?
        /// Seconds until expiry (negative once expired), nil when missing.
        public var residualSeconds: Int?
        /// Signing CA; nil for the CAs themselves.
        public var authority: String?
        public var externallyManaged: Bool
        public var status: Status
        /// Why the status is not ok.
        public var detail: String?
    }

    public var checkedAt: Date
    public var authorities: [Entry]
    public var certificates: [Entry]

    /// True when something needs attention (for the command's exit code).
    public var hasProblems: Bool {
        (authorities + certificates).contains { $0.status != .ok }
    }

    /// kubeadm-like table: certificates first, then the CAs.
    public func table() -> String {
        let leafRows = certificates.map { entry in
            [entry.name, entry.expires.map(PKIDate.format) ?? "-", entry.residualSeconds.map(Self.shortDuration) ?? "-",
             entry.authority ?? "-", entry.externallyManaged ? "yes" : "no", Self.statusText(entry)]
        }
        let caRows = authorities.map { entry in
            [entry.name, entry.expires.map(PKIDate.format) ?? "-", entry.residualSeconds.map(Self.shortDuration) ?? "-",
             entry.externallyManaged ? "yes" : "no", Self.statusText(entry)]
        }
        return TextTable.render(header: ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED", "STATUS"], rows: leafRows)
            + "\n"
            + TextTable.render(header: ["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED", "STATUS"], rows: caRows)
    }

    static func statusText(_ entry: Entry) -> String {
        entry.detail.map { "\(entry.status.rawValue): \($0)" } ?? entry.status.rawValue
    }

    /// kubeadm's short form: 90s, 5m, 47h, 364d, 9y.
    static func shortDuration(_ seconds: Int) -> String {
        if seconds < 0 { return "expired" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60, hours = minutes / 60, days = hours / 24
        if minutes < 120 { return "\(minutes)m" }
        if hours < 48 { return "\(hours)h" }
        if days < 365 * 2 { return "\(days)d" }
        return "\(days / 365)y"
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

extension PKIPlan {
    /// Builds the report from facts. `verification` is the adapter's chain check per leaf name
    /// (nil: verifies; else OpenSSL's reason).
    public func expirationReport(
        observed: ObservedPKI, verification: [String: String], now: Date
    ) -> ExpirationReport {
        func entry(_ spec: CertificateSpec) -> ExpirationReport.Entry {
            let pair = observed.pairs[spec.name]
            let external = spec.signingAuthority == .kubernetes && externalCA != nil && (spec.isAuthority)
            var result = ExpirationReport.Entry(
                name: spec.name, node: spec.node, path: pair?.certificatePath ?? spec.certificatePath,
                authority: spec.isAuthority ? nil : spec.signingAuthority?.rawValue,
                externallyManaged: external, status: .ok)
            guard let pair else { result.status = .missing; return result }
            let facts: ObservedCertificate
            switch pair.certificate {
            case .missing: result.status = .missing; return result
            case .unreadable(let why): result.status = .invalid; result.detail = why; return result
            case .present(let present): facts = present
            }
            result.expires = facts.notAfter
            result.residualSeconds = Int(facts.notAfter.timeIntervalSince(now).rounded(.down))
            if facts.notAfter <= now { result.status = .expired; return result }
            switch pair.key {
            case .missing: result.status = .invalid; result.detail = "key missing"; return result
            case .unreadable(let why): result.status = .invalid; result.detail = "key: \(why)"; return result
            case .present(let key) where key.matchesCertificate == false:
                result.status = .invalid; result.detail = "key does not match"; return result
            case .present: break
            }
            if spec.isAuthority { return result }
            if let failure = verification[spec.name] {
                result.status = .invalid
                result.detail = failure
                return result
            }
            let reasons = reasonsToIssue(spec, pair, authorityCreated: false, authorityNotAfter: .distantFuture, now: now)
                .filter { if case .dueForRenewal = $0 { false } else { true } }
            if !reasons.isEmpty {
                result.status = .outdated
                result.detail = reasons.map(\.description).joined(separator: "; ")
            }
            return result
        }
        return ExpirationReport(checkedAt: now, authorities: authorities.map(entry), certificates: leaves.map(entry))
    }
}

extension PKIGenerator {
    /// `certs check-expiration` for the local PKI directory. Never writes.
    public func checkExpiration(now: Date) throws(ClusterupError) -> ExpirationReport {
        let loaded = try load()
        var verification: [String: String] = [:]
        for spec in plan.leaves {
            guard let certificate = loaded.certificates[spec.name] else { continue }
            guard let authority = loaded.certificates[spec.signingAuthority!.rawValue] else {
                verification[spec.name] = "its CA \(spec.signingAuthority!.rawValue) is missing or unreadable"
                continue
            }
            verification[spec.name] = certificate.verificationFailure(against: authority, at: now)
        }
        return plan.expirationReport(observed: loaded.observed, verification: verification, now: now)
    }
}
