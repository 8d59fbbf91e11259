import ClusterupCore
import Foundation

extension PKIRequest {
    /// The PKI part of an inventory: etcd and control-plane hosts (lb-only hosts need no
    /// certificates), the VIP, and the `pki` section.
    public init(inventory: Inventory) throws(ClusterupError) {
        let vip = try inventory.requireVIP(for: "the PKI (apiserver SANs, kubeconfig server URL)")
        var nodes: [Node] = []
        for host in inventory.hosts {
            var roles: Set<Role> = []
            if host.roles.contains(.etcd) { roles.insert(.etcd) }
            if host.roles.contains(.controlPlane) { roles.insert(.controlPlane) }
            guard !roles.isEmpty else { continue }
            // The cluster-traffic address first; the SSH address too, since clients may use either.
            var addresses = [host.privateAddress]
            if host.address != host.privateAddress { addresses.append(host.address) }
            nodes.append(Node(name: host.name, addresses: addresses, roles: roles))
        }
        guard !nodes.isEmpty else {
            throw .badInput("no host has role etcd or control-plane, so there is nothing to make certificates for",
                            at: inventory.path, hint: "give at least one host the roles [etcd, control-plane]")
        }
        self.init(
            clusterName: inventory.cluster, nodes: nodes, vipAddress: vip.address, vipPort: vip.port,
            loadBalancerDNSName: vip.dnsName,
            settings: inventory.pki)
    }
}
