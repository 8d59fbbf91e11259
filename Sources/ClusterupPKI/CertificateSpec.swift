import Foundation

/// The subject of a certificate: the two attributes Kubernetes reads (CN = user, O = groups).
public struct DistinguishedName: Sendable, Hashable, CustomStringConvertible, Codable {
    public var commonName: String
    public var organizations: [String]

    public init(commonName: String, organizations: [String] = []) {
        self.commonName = commonName
        self.organizations = organizations
    }

    public var description: String {
        (organizations.map { "O=\($0)" } + ["CN=\(commonName)"]).joined(separator: ", ")
    }
}

/// keyUsage bits (RFC 5280 §4.2.1.3); always marked critical.
public struct KeyUsage: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let digitalSignature = KeyUsage(rawValue: 1 << 0)
    public static let keyEncipherment = KeyUsage(rawValue: 1 << 1)
    public static let keyCertSign = KeyUsage(rawValue: 1 << 2)
    public static let cRLSign = KeyUsage(rawValue: 1 << 3)

    /// OpenSSL's names, in the order `openssl x509 -text` prints them.
    var openSSLNames: [String] {
        [(Self.digitalSignature, "digitalSignature"), (.keyEncipherment, "keyEncipherment"),
         (.keyCertSign, "keyCertSign"), (.cRLSign, "cRLSign")]
            .filter { contains($0.0) }.map(\.1)
    }
}

/// An extendedKeyUsage purpose (RFC 5280 §4.2.1.12). Open set: the purposes used here are
/// static members; `name` is OpenSSL's short name.
public struct ExtendedKeyUsage: Sendable, Hashable {
    public let name: String
    public static let serverAuth = ExtendedKeyUsage(name: "serverAuth")
    public static let clientAuth = ExtendedKeyUsage(name: "clientAuth")
}

/// The three CAs of a kubeadm-style control plane.
public enum CertificateAuthority: String, Sendable, Hashable, CaseIterable, Codable {
    case kubernetes = "ca"
    case etcd = "etcd/ca"
    case frontProxy = "front-proxy-ca"

    public var certificatePath: String { rawValue + ".crt" }
    public var keyPath: String { rawValue + ".key" }

    var commonName: String {
        switch self {
        case .kubernetes: "kubernetes"
        case .etcd: "etcd-ca"
        case .frontProxy: "front-proxy-ca"
        }
    }
}

/// Everything that defines one certificate and its key, before any OpenSSL call.
public struct CertificateSpec: Sendable, Hashable {
    public enum Signer: Sendable, Hashable {
        /// A root CA signing itself; `pathLength` is its basicConstraints pathlen.
        case selfSigned(pathLength: Int)
        case authority(CertificateAuthority)
    }

    /// Unique name, as `certs check-expiration` lists it and `certs renew` accepts it:
    /// `ca`, `etcd/ca`, `apiserver-etcd-client@node1`, `admin.conf`...
    public var name: String
    /// The name without the node, shared by every node's copy (`apiserver`); what `renew` also accepts.
    public var kind: String
    /// The node this certificate belongs to, nil for cluster-wide ones.
    public var node: String?
    /// Paths relative to the PKI directory.
    public var certificatePath: String
    public var keyPath: String
    public var signer: Signer
    public var subject: DistinguishedName
    /// Sorted and without duplicates, so plans compare equal to what is read back.
    public var subjectAlternativeNames: [SubjectAlternativeName]
    public var keyUsage: KeyUsage
    public var extendedKeyUsage: [ExtendedKeyUsage]
    public var validity: TimeInterval

    public var isAuthority: Bool {
        if case .selfSigned = signer { return true }
        return false
    }

    /// The CA whose key signs this certificate (itself for a CA).
    public var signingAuthority: CertificateAuthority? {
        switch signer {
        case .authority(let ca): ca
        case .selfSigned: CertificateAuthority(rawValue: name)
        }
    }
}

/// The service-account signing key pair (`sa.key`, `sa.pub`); it has no certificate.
public struct KeyPairSpec: Sendable, Hashable {
    public var name = "sa"
    public var privateKeyPath = "sa.key"
    public var publicKeyPath = "sa.pub"
}

/// A kubeconfig embedding a client certificate, its key and the Kubernetes CA.
public struct KubeconfigSpec: Sendable, Hashable {
    /// File name under the PKI directory, e.g. `admin.conf`; also the client certificate's name.
    public var path: String
    public var clientCertificate: String
    public var clusterName: String
    public var serverURL: String
    public var userName: String
}
