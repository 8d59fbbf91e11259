import ClusterupCore
import Foundation

/// What one `certs gen` / `certs renew` run did (or, with `dryRun`, would do).
public struct PKIRunReport: Sendable, Equatable {
    public struct Issued: Sendable, Equatable {
        public var name: String
        public var reasons: [IssueReason]
        public var newKey: Bool
    }
    public var createdAuthorities: [String] = []
    public var installedExternalCA = false
    public var issued: [Issued] = []
    public var serviceAccount: ServiceAccountAction = .keep
    /// Paths (relative to the PKI directory) written, in order.
    public var written: [String] = []
    public var warnings: [String] = []

    public var changedNothing: Bool { written.isEmpty }

    public init(serviceAccount: ServiceAccountAction = .keep, warnings: [String] = []) {
        self.serviceAccount = serviceAccount
        self.warnings = warnings
    }
}

/// Runs the plan against the PKI directory: gather facts, decide, build everything in memory,
/// check it, then write it in one all-or-nothing batch.
public struct PKIGenerator: Sendable {
    public let plan: PKIPlan
    public let directory: PKIDirectory
    /// Where passphrase variables are looked up (injected for tests).
    public var environment: [String: String]

    public init(request: PKIRequest, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ClusterupError) {
        plan = try PKIPlan(request: request)
        directory = PKIDirectory(root: request.settings.directory)
        self.environment = environment
    }

    /// Everything read from disk: the facts for the planner plus the material to sign with.
    struct Loaded {
        var observed: ObservedPKI
        var certificates: [String: Certificate] = [:]
        var keys: [String: PrivateKey] = [:]
        /// Raw bytes of files read, by path relative to the directory.
        var files: [String: Data] = [:]
    }

    func readFile(_ path: String, into loaded: inout Loaded) throws(ClusterupError) -> Data? {
        switch try directory.read(path) {
        case .missing: return nil
        case .contents(let data):
            loaded.files[path] = data
            return data
        }
    }

    func load() throws(ClusterupError) -> Loaded {
        var loaded = Loaded(observed: ObservedPKI(pairs: [:], serviceAccountKey: .missing, serviceAccountPublicKey: .missing))

        for spec in plan.authorities {
            guard spec.name == CertificateAuthority.kubernetes.rawValue, let external = plan.externalCA else {
                loaded.observed.pairs[spec.name] = try observePair(
                    spec.name, certificatePath: spec.certificatePath, keyPath: spec.keyPath, authority: nil,
                    passphrase: nil, into: &loaded)
                continue
            }
            loaded.observed.pairs[spec.name] = try observePair(
                spec.name, certificatePath: external.certificatePath, keyPath: external.keyPath, authority: nil,
                passphrase: try passphrase(for: external), into: &loaded)
            // Installed means ca.crt in the PKI directory already is the external certificate.
            if case .contents(let installed) = try directory.read(spec.certificatePath),
               let copy = try? Certificate(pem: installed), let original = loaded.certificates[spec.name] {
                loaded.observed.externalCAInstalled = copy.sameCertificate(as: original)
                loaded.files[spec.certificatePath] = installed
            }
        }
        for spec in plan.leaves {
            let authority = loaded.certificates[spec.signingAuthority!.rawValue]
            loaded.observed.pairs[spec.name] = try observePair(
                spec.name, certificatePath: spec.certificatePath, keyPath: spec.keyPath,
                authority: authority, passphrase: nil, into: &loaded)
        }

        let sa = plan.serviceAccount
        var saKey: PrivateKey?
        if let data = try readFile(sa.privateKeyPath, into: &loaded) {
            do {
                let key = try PrivateKey(pem: data)
                saKey = key
                loaded.keys[sa.name] = key
                loaded.observed.serviceAccountKey = .present(ObservedKey(algorithm: key.algorithm, matchesCertificate: nil))
            } catch { loaded.observed.serviceAccountKey = .unreadable(error.description) }
        }
        if let data = try readFile(sa.publicKeyPath, into: &loaded) {
            do {
                let publicKey = try PublicKey(pem: data)
                loaded.observed.serviceAccountPublicKey = .present(ObservedKey(
                    algorithm: PrivateKey.algorithm(of: publicKey.pointer),
                    matchesCertificate: saKey?.pairs(withPublicKey: publicKey.pointer)))
            } catch { loaded.observed.serviceAccountPublicKey = .unreadable(error.description) }
        }
        return loaded
    }

    func passphrase(for external: PKISettings.ExternalCA) throws(ClusterupError) -> String? {
        guard let variable = external.passphraseEnvironmentVariable else { return nil }
        guard let value = environment[variable] else {
            throw .badInput("environment variable \(variable) (pki.external_ca.passphrase_env) is not set",
                            at: "pki.external_ca.passphrase_env", hint: "export \(variable) with the CA key's passphrase")
        }
        return value
    }

    func observePair(
        _ name: String, certificatePath: String, keyPath: String, authority: Certificate?, passphrase: String?,
        into loaded: inout Loaded
    ) throws(ClusterupError) -> ObservedPair {
        var pair = ObservedPair(certificate: .missing, key: .missing, certificatePath: directory.absolute(certificatePath),
                                keyPath: directory.absolute(keyPath))
        var certificate: Certificate?
        if let data = try readFile(certificatePath, into: &loaded) {
            do {
                let parsed = try Certificate(pem: data)
                certificate = parsed
                loaded.certificates[name] = parsed
                pair.certificate = .present(parsed.facts(authority: authority))
            } catch { pair.certificate = .unreadable(error.description) }
        }
        if let data = try readFile(keyPath, into: &loaded) {
            do {
                let key = try PrivateKey(pem: data, passphrase: passphrase)
                loaded.keys[name] = key
                pair.key = .present(ObservedKey(algorithm: key.algorithm, matchesCertificate: certificate?.matches(key)))
            } catch { pair.key = .unreadable(error.description) }
        }
        return pair
    }

    /// `certs gen` (and, with `renew`, `certs renew`). Nothing is written when `dryRun`.
    /// `only`: leaves outside it are kept whatever their state (`certs renew --expiring`).
    public func run(
        now: Date, renew: Set<String> = [], rotateKeys: Bool = false, only: Set<String>? = nil, dryRun: Bool = false
    ) throws(ClusterupError) -> PKIRunReport {
        try checkRenewNames(renew)
        var loaded = try load()
        var decisions = try plan.decide(observed: loaded.observed, now: now, renew: renew, rotateKeys: rotateKeys)
        if let only {
            decisions.leaves = decisions.leaves.map { only.contains($0.name) ? $0 : LeafDecision(name: $0.name, reasons: [], reuseKey: true) }
        }
        var report = PKIRunReport(serviceAccount: decisions.serviceAccount, warnings: decisions.warnings)
        var writes: [FileWrite] = []

        // Key generation dominates (RSA especially) and needs no CA, so every new key is made up front on all cores.
        let newKeys = try generateKeys(
            for: plan.authorities.map(\.name).filter { decisions.authorities[CertificateAuthority(rawValue: $0)!] == .create }
                + (decisions.serviceAccount == .create ? [plan.serviceAccount.name] : [])
                + decisions.leaves.filter { $0.issue && !$0.reuseKey }.map(\.name))

        for spec in plan.authorities {
            let ca = CertificateAuthority(rawValue: spec.name)!
            switch decisions.authorities[ca]! {
            case .keep:
                break
            case .installExternal:
                report.installedExternalCA = true
                writes.append(.certificate(spec.certificatePath, try encode(spec.name) { try loaded.certificates[spec.name]!.pem() }).flushed)
            case .create:
                let key = newKeys[spec.name]!
                let certificate = try wrap(spec.name) { try Certificate.issue(spec, for: key, issuer: nil, now: now) }
                loaded.certificates[spec.name] = certificate
                loaded.keys[spec.name] = key
                report.createdAuthorities.append(spec.name)
                writes.append(.certificate(spec.certificatePath, try encode(spec.name) { try certificate.pem() }).flushed)
                writes.append(.secret(spec.keyPath, try encode(spec.name) { try key.pkcs8PEM() }).flushed)
            }
        }
        for (name, contents) in writes.map({ ($0.path, $0.contents) }) { loaded.files[name] = contents }

        let toIssue = decisions.leaves.filter(\.issue)
        let issued = try issueLeaves(toIssue, loaded: loaded, newKeys: newKeys, now: now)
        for (decision, result) in zip(toIssue, issued) {
            let spec = plan.certificate(named: decision.name)!
            report.issued.append(.init(name: decision.name, reasons: decision.reasons, newKey: result.keyPEM != nil))
            writes.append(.certificate(spec.certificatePath, result.certificatePEM))
            loaded.files[spec.certificatePath] = result.certificatePEM
            if let keyPEM = result.keyPEM {
                writes.append(.secret(spec.keyPath, keyPEM))
                loaded.files[spec.keyPath] = keyPEM
            }
        }

        writes += try serviceAccountWrites(decisions.serviceAccount, loaded: loaded, newKey: newKeys[plan.serviceAccount.name])
        writes += kubeconfigWrites(loaded: loaded)

        if dryRun {
            report.written = try directory.changes(writes).map(\.path)
        } else {
            for loose in try directory.tightenDirectoryModes() {
                report.warnings.append("\(loose) was readable by others; restricted it to 0700")
            }
            report.written = try directory.write(writes)
        }
        return report
    }

    /// Leaves that have expired or expire within `pki.renew_before`, by name: what
    /// `certs renew --expiring` renews. Missing or unreadable ones are `certs gen`'s business.
    public func expiring(now: Date) throws(ClusterupError) -> [String] {
        let observed = try load().observed
        return plan.leaves.compactMap { spec in
            guard case .present(let facts)? = observed.pairs[spec.name]?.certificate,
                  facts.notAfter.timeIntervalSince(now) < plan.renewBefore else { return nil }
            return spec.name
        }
    }

    struct IssuedLeaf: Sendable {
        var certificatePEM: Data
        var keyPEM: Data?
    }

    /// Signatures are independent per leaf, so they use every core too.
    func issueLeaves(
        _ decisions: [LeafDecision], loaded: Loaded, newKeys: [String: PrivateKey], now: Date
    ) throws(ClusterupError) -> [IssuedLeaf] {
        let results = ResultSlots<IssuedLeaf>(count: decisions.count)
        let certificates = loaded.certificates, keys = loaded.keys
        DispatchQueue.concurrentPerform(iterations: decisions.count) { index in
            results.set(index, Result { () throws(ClusterupError) -> IssuedLeaf in
                let decision = decisions[index]
                let spec = plan.certificate(named: decision.name)!
                let ca = spec.signingAuthority!.rawValue
                let key = decision.reuseKey ? keys[spec.name]! : newKeys[spec.name]!
                let authority = (certificates[ca]!, keys[ca]!)
                let certificate = try wrap(spec.name) { try Certificate.issue(spec, for: key, issuer: authority, now: now) }
                // Check before anything is written: a certificate that does not verify is a bug here.
                if let failure = certificate.verificationFailure(against: authority.0, at: now) {
                    throw .local("issued \(spec.name) does not verify against \(ca): \(failure)",
                                 hint: "nothing was written; please report this")
                }
                return IssuedLeaf(certificatePEM: try encode(spec.name) { try certificate.pem() },
                                  keyPEM: decision.reuseKey ? nil : try encode(spec.name) { try key.pkcs8PEM() })
            })
        }
        return try results.collect()
    }

    func serviceAccountWrites(
        _ action: ServiceAccountAction, loaded: Loaded, newKey: PrivateKey?
    ) throws(ClusterupError) -> [FileWrite] {
        let sa = plan.serviceAccount
        switch action {
        case .keep:
            return []
        case .writePublicKey:
            return [.certificate(sa.publicKeyPath, try encode(sa.name) { try loaded.keys[sa.name]!.publicKeyPEM() })]
        case .create:
            let key = newKey!
            return [.secret(sa.privateKeyPath, try encode(sa.name) { try key.pkcs8PEM() }).flushed,
                    .certificate(sa.publicKeyPath, try encode(sa.name) { try key.publicKeyPEM() })]
        }
    }

    /// Kubeconfigs are derived files: rewritten whenever their rendering differs from disk.
    func kubeconfigWrites(loaded: Loaded) -> [FileWrite] {
        plan.kubeconfigs.compactMap { kubeconfig in
            let client = plan.certificate(named: kubeconfig.clientCertificate)!
            guard let ca = loaded.files[CertificateAuthority.kubernetes.certificatePath],
                  let certificate = loaded.files[client.certificatePath],
                  let key = loaded.files[client.keyPath] else { return nil }
            let rendered = kubeconfig.render(authorityPEM: ca, certificatePEM: certificate, keyPEM: key)
            return .secret(kubeconfig.path, rendered)
        }
    }

    func checkRenewNames(_ names: Set<String>) throws(ClusterupError) {
        let known = Set(plan.leaves.flatMap { [$0.name, $0.kind] } + ["all"])
        for name in names.sorted() where !known.contains(name) {
            let authority = CertificateAuthority(rawValue: name) != nil
            throw .badInput(authority ? "\(name) is a CA; renew re-issues leaves only" : "no certificate named '\(name)'",
                            at: "certs renew",
                            hint: authority ? "rotating a CA is a deliberate operation: move its files aside and run certs gen"
                                : "names: all, \(Set(plan.leaves.map(\.kind)).sorted().joined(separator: ", ")), or NAME@NODE (see certs check-expiration)")
        }
    }

    /// One new key per name, generated concurrently.
    func generateKeys(for names: [String]) throws(ClusterupError) -> [String: PrivateKey] {
        let slots = ResultSlots<PrivateKey>(count: names.count)
        let algorithm = plan.algorithm
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            slots.set(index, Result { () throws(ClusterupError) -> PrivateKey in
                try wrap(names[index]) { try PrivateKey.generate(algorithm) }
            })
        }
        return Dictionary(uniqueKeysWithValues: zip(names, try slots.collect()))
    }
}

func wrap<T>(_ name: String, _ body: () throws -> T) throws(ClusterupError) -> T {
    do { return try body() } catch {
        throw .local("OpenSSL failed for \(name): \(error)", hint: "nothing was written")
    }
}

func encode(_ name: String, _ body: () throws -> Data) throws(ClusterupError) -> Data {
    try wrap(name, body)
}

/// Results of a concurrentPerform, one slot per iteration.
final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private var slots: [Result<Value, ClusterupError>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<Value, ClusterupError>) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }

    func collect() throws(ClusterupError) -> [Value] {
        try slots.map { slot throws(ClusterupError) in try slot!.get() }
    }
}
