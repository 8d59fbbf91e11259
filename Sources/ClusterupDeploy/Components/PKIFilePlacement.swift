import ClusterupCore
import ClusterupNodes
import ClusterupPKI

/// Where changed files of the local PKI directory go on the nodes, and which services must restart
/// to use them: deploy's own placement (`PKIPlan.files(forNode:)`, the kubeconfigs of control-plane
/// hosts) and restart rules (`DeployInputs.consumers`), for operations that install only what
/// changed (`certs renew --deploy`, `certs rotate-ca`). Pure.
public struct PKIFilePlacement: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// Path under the local PKI directory.
        public var local: String
        /// Absolute path on the node.
        public var remote: String
        public var mode: UInt32
    }

    public var host: String
    public var files: [File]
    /// Units that must restart, in the order deploy names them; empty when every file is re-read by itself.
    public var restarts: [String]

    /// One entry per host that receives any of `changed`, in inventory order.
    public static func placements(of changed: Set<String>, plan: PKIPlan, hosts: [InventoryHost]) -> [PKIFilePlacement] {
        hosts.compactMap { host in
            var files: [File] = []
            var restarts: [String] = []
            // Only units the host's roles run: etcd/ca.crt also concerns kube-apiserver, but not on an etcd-only host.
            func add(_ units: [String]) {
                for unit in units where !restarts.contains(unit) && host.roles.contains(unit == "etcd.service" ? .etcd : .controlPlane) {
                    restarts.append(unit)
                }
            }
            for (local, remote) in plan.files(forNode: host.name) where changed.contains(local) {
                files.append(File(local: local, remote: "\(NodeLayout.pkiDirectory)/\(remote)", mode: local.hasSuffix(".key") ? 0o600 : 0o644))
                add(DeployInputs.consumers(ofPKIFile: remote))
            }
            if host.roles.contains(.controlPlane) {
                for (file, unit) in ControlPlaneComponent.kubeconfigs where changed.contains(file) {
                    files.append(File(local: file, remote: "\(DeployInputs.kubernetesDirectory)/\(file)", mode: 0o600))
                    add(unit.map { [$0] } ?? [])
                }
            }
            return files.isEmpty ? nil : PKIFilePlacement(host: host.name, files: files, restarts: restarts)
        }
    }
}
