import ClusterupCore
import Foundation

/// Everything the PKI needs to know about a cluster, independent of how the inventory is read.
///
/// `PKIPlan(request:)` turns it into the full set of certificates; nothing here touches files.
public struct PKIRequest: Sendable, Equatable {
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case etcd
        case controlPlane = "control-plane"
    }

    public struct Node: Sendable, Equatable {
        /// Node name; also the CN of its etcd certificates and a DNS SAN.
        public var name: String
        /// Addresses the node is reached at (IP literals or DNS names), in inventory order.
        public var addresses: [String]
        public var roles: Set<Role>

        public init(name: String, addresses: [String], roles: Set<Role>) {
            self.name = name
            self.addresses = addresses
            self.roles = roles
        }
    }

    /// An existing CA to sign with instead of creating the Kubernetes `ca`.
    public struct ExternalCA: Sendable, Equatable {
        public var certificatePath: String
        public var keyPath: String
        /// Environment variable holding the key's passphrase, if the key is encrypted.
        public var passphraseEnvironmentVariable: String?

        public init(certificatePath: String, keyPath: String, passphraseEnvironmentVariable: String? = nil) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.passphraseEnvironmentVariable = passphraseEnvironmentVariable
        }
    }

    public struct Settings: Sendable, Equatable {
        /// Directory holding the PKI (kubeadm layout, see `PKIPlan`).
        public var directory: String
        public var algorithm: KeyAlgorithm
        public var caValidity: TimeInterval
        public var leafValidity: TimeInterval
        /// A leaf expiring within this is re-issued by `certs gen`.
        public var renewBefore: TimeInterval
        public var clusterDomain: String
        public var serviceCIDR: String
        /// Extra apiserver SANs: IP literals or DNS names.
        public var extraSANs: [String]
        public var externalCA: ExternalCA?

        public static let day: TimeInterval = 86_400

        public init(
            directory: String,
            algorithm: KeyAlgorithm = .ecdsaP256,
            caValidity: TimeInterval = 3650 * day,
            leafValidity: TimeInterval = 365 * day,
            renewBefore: TimeInterval = 30 * day,
            clusterDomain: String = "cluster.local",
            serviceCIDR: String = "10.96.0.0/12",
            extraSANs: [String] = [],
            externalCA: ExternalCA? = nil
        ) {
            self.directory = directory
            self.algorithm = algorithm
            self.caValidity = caValidity
            self.leafValidity = leafValidity
            self.renewBefore = renewBefore
            self.clusterDomain = clusterDomain
            self.serviceCIDR = serviceCIDR
            self.extraSANs = extraSANs
            self.externalCA = externalCA
        }
    }

    public var clusterName: String
    public var nodes: [Node]
    /// The virtual IP clients use; a SAN of every apiserver and the host of every kubeconfig URL.
    public var vipAddress: String
    /// HAProxy's frontend port on the VIP.
    public var vipPort: Int
    public var loadBalancerDNSName: String?
    public var settings: Settings

    public init(
        clusterName: String, nodes: [Node], vipAddress: String, vipPort: Int = 8443,
        loadBalancerDNSName: String? = nil, settings: Settings
    ) {
        self.clusterName = clusterName
        self.nodes = nodes
        self.vipAddress = vipAddress
        self.vipPort = vipPort
        self.loadBalancerDNSName = loadBalancerDNSName
        self.settings = settings
    }
}

/// The key algorithm of every key the PKI creates.
public enum KeyAlgorithm: String, Sendable, Hashable, CaseIterable, Codable {
    case ecdsaP256 = "ecdsa-p256"
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"
    case rsa4096 = "rsa-4096"

    /// RSA modulus size, nil for EC keys.
    public var rsaBits: Int32? {
        switch self {
        case .ecdsaP256: nil
        case .rsa2048: 2048
        case .rsa3072: 3072
        case .rsa4096: 4096
        }
    }
}
