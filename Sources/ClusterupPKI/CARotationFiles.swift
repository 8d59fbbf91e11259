import ClusterupCore
import Foundation

/// The local half of a CA rotation phase, on the PKI directory: the new CA, the trust bundles,
/// the swap of signer, the re-issued leaves and kubeconfigs. The CA's `.crt` holds the bundle the
/// nodes receive, signer first, so `certs gen` and deploy keep working in every phase.
///
///     rotate-ca/new/<ca>.crt .key     the new CA (made by trust)
///     rotate-ca/old/<ca>.crt .key     the old CA, moved aside by reissue, never deleted
extension PKIGenerator {
    public static let rotationDirectory = "rotate-ca"

    /// Runs the local steps of `phase` for `authorities`; returns the paths written (relative to
    /// the PKI directory). Each step writes all-or-nothing; the caller records `prepared` after it.
    public func prepareRotation(
        _ phase: RotationPhase, authorities: [CertificateAuthority], serviceAccount: Bool = false, rotateKeys: Bool, now: Date
    ) throws(ClusterupError) -> [String] {
        var writes: [FileWrite] = serviceAccount ? try serviceAccountRotation(phase) : []
        var renew: Set<String> = []
        for ca in authorities {
            let current = try pemBlocks(ca.certificatePath)
            let newPath = "\(Self.rotationDirectory)/new/\(ca.rawValue)"
            switch phase {
            case .trust:
                guard let old = current.first else {
                    throw .badInput("\(ca.certificatePath) has no certificate", at: directory.absolute(ca.certificatePath),
                                    hint: "run certs gen first; a rotation replaces an existing CA")
                }
                let spec = plan.authorities.first { $0.name == ca.rawValue }!
                let key = try wrap(ca.rawValue) { try PrivateKey.generate(plan.algorithm) }
                let certificate = try wrap(ca.rawValue) { try Certificate.issue(spec, for: key, issuer: nil, now: now) }
                let newPEM = try encode(ca.rawValue) { try certificate.pem() }
                writes += [.secret(newPath + ".key", try encode(ca.rawValue) { try key.pkcs8PEM() }).flushed,
                           .certificate(newPath + ".crt", newPEM).flushed,
                           .certificate(ca.certificatePath, old + newPEM).flushed]
            case .reissue:
                let newPEM = try required(newPath + ".crt"), newKey = try required(newPath + ".key")
                guard let old = current.first, old != newPEM else { continue }  // swapped already
                let oldPath = "\(Self.rotationDirectory)/old/\(ca.rawValue)"
                writes += [.certificate(oldPath + ".crt", old).flushed,
                           .secret(oldPath + ".key", try required(ca.keyPath)).flushed,
                           .secret(ca.keyPath, newKey).flushed,
                           .certificate(ca.certificatePath, newPEM + old).flushed]
                renew.formUnion(plan.leaves.filter { $0.signingAuthority == ca }.map(\.name))
            case .finish:
                writes.append(.certificate(ca.certificatePath, try required(newPath + ".crt")).flushed)
            }
        }
        var written = try directory.write(writes)
        // Leaves (reissue) and the kubeconfigs embedding ca.crt (every phase), from the new files.
        let report = try run(now: now, renew: renew, rotateKeys: rotateKeys, only: renew)
        written += report.written
        return written
    }

    /// The service-account pair, as the CAs: sa.pub holds the public keys the apiserver accepts,
    /// the signer's first (sa.key is what PKIGenerator checks it against).
    func serviceAccountRotation(_ phase: RotationPhase) throws(ClusterupError) -> [FileWrite] {
        let sa = plan.serviceAccount
        let newKeyPath = "\(Self.rotationDirectory)/new/\(sa.privateKeyPath)", newPublicPath = "\(Self.rotationDirectory)/new/\(sa.publicKeyPath)"
        let current = try pemBlocks(sa.publicKeyPath, label: "PUBLIC KEY")
        switch phase {
        case .trust:
            guard let old = current.first else {
                throw .badInput("sa.pub has no public key", at: directory.absolute(sa.publicKeyPath), hint: "run certs gen first")
            }
            let key = try wrap(sa.name) { try PrivateKey.generate(plan.algorithm) }
            let publicPEM = try encode(sa.name) { try key.publicKeyPEM() }
            return [.secret(newKeyPath, try encode(sa.name) { try key.pkcs8PEM() }).flushed,
                    .certificate(newPublicPath, publicPEM).flushed,
                    .certificate(sa.publicKeyPath, old + publicPEM).flushed]
        case .reissue:
            let newPublic = try required(newPublicPath)
            guard let old = current.first, old != newPublic else { return [] }  // swapped already
            let oldPath = "\(Self.rotationDirectory)/old/"
            return [.certificate(oldPath + sa.publicKeyPath, old).flushed,
                    .secret(oldPath + sa.privateKeyPath, try required(sa.privateKeyPath)).flushed,
                    .secret(sa.privateKeyPath, try required(newKeyPath)).flushed,
                    .certificate(sa.publicKeyPath, newPublic + old).flushed]
        case .finish:
            return [.certificate(sa.publicKeyPath, try required(newPublicPath)).flushed]
        }
    }

    /// The PEM blocks (certificates by default) of a file, each with its END line and newline, in order.
    func pemBlocks(_ path: String, label: String = "CERTIFICATE") throws(ClusterupError) -> [Data] {
        guard case .contents(let data) = try directory.read(path) else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        let end = "-----END \(label)-----"
        var blocks: [Data] = []
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN \(label)-----"), let close = rest.range(of: end, range: begin.upperBound..<rest.endIndex) {
            blocks.append(Data((rest[begin.lowerBound..<close.upperBound] + "\n").utf8))
            rest = rest[close.upperBound...]
        }
        return blocks
    }

    func required(_ path: String) throws(ClusterupError) -> Data {
        guard case .contents(let data) = try directory.read(path) else {
            throw .badInput("\(path) is missing, so the rotation cannot continue", at: directory.absolute(path),
                            hint: "it was written by the trust phase; restore it from a backup of the PKI directory")
        }
        return data
    }
}
