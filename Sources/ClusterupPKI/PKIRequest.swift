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

    public var clusterName: String
    public var nodes: [Node]
    /// The virtual IP clients use; a SAN of every apiserver and the host of every kubeconfig URL.
    public var vipAddress: String
    /// HAProxy's frontend port on the VIP.
    public var vipPort: Int
    public var loadBalancerDNSName: String?
    /// The inventory's `pki` section as it is: one type for both, so nothing is mapped across.
    public var settings: PKISettings

    public init(
        clusterName: String, nodes: [Node], vipAddress: String, vipPort: Int = 8443,
        loadBalancerDNSName: String? = nil, settings: PKISettings
    ) {
        self.clusterName = clusterName
        self.nodes = nodes
        self.vipAddress = vipAddress
        self.vipPort = vipPort
        self.loadBalancerDNSName = loadBalancerDNSName
        self.settings = settings
    }
}
