import ClusterupNodes
import ClusterupCore
import ClusterupPKI

/// Everything the components need to describe each host's desired state, read beforehand so
/// that describing it is pure: the inventory, the templates, the local PKI files and the bytes
/// of programs to upload.
public struct DeployInputs: Sendable {
    public var inventory: Inventory
    public var settings: DeploySettings
    public var templates: TemplateSet
    public var pki: PKIPlan
    /// PKI files by their path under the PKI directory.
    public var pkiFiles: [String: [UInt8]]
    /// Bytes of artifacts that are uploaded (file and url sources, clusterup-vrrpd), by name.
    public var uploads: [String: [UInt8]]
    /// The rendered clusterup-vrrpd configuration file per lb host, or keepalived's.
    public var vrrpConfigs: [String: String]

    public init(
        inventory: Inventory, settings: DeploySettings, templates: TemplateSet, pki: PKIPlan,
        pkiFiles: [String: [UInt8]], uploads: [String: [UInt8]], vrrpConfigs: [String: String]
    ) {
        self.inventory = inventory
        self.settings = settings
        self.templates = templates
        self.pki = pki
        self.pkiFiles = pkiFiles
        self.uploads = uploads
        self.vrrpConfigs = vrrpConfigs
    }

    /// The node-side PKI directory (kubeadm's).
    public static let kubernetesDirectory = "/etc/kubernetes"

    /// The host's part of the PKI, as files under /etc/kubernetes/pki, each restarting the units
    /// that read it.
    func pkiFiles(for host: InventoryHost) throws -> [ManagedFile] {
        try pki.files(forNode: host.name).map { local, remote in
            guard let content = pkiFiles[local] else {
                throw ClusterupError.local(
                    "the PKI has no \(local) for \(host.name)", at: inventory.pki.directory,
                    hint: "run `clusterup certs gen` (deploy runs it too unless --skip-certs)")
            }
            let isKey = local.hasSuffix(".key")
            return ManagedFile(
                path: "\(NodeLayout.pkiDirectory)/\(remote)", content: content, mode: isKey ? 0o600 : 0o644,
                sensitive: isKey, restarts: Self.consumers(ofPKIFile: remote), component: "pki")
        }
    }

    /// Which services must restart to use a changed PKI file, so a renewed certificate restarts
    /// exactly those. Serving certificates restart nothing: etcd reads its server and peer pair
    /// for every new connection, and kube-apiserver reloads its serving pair when the files change
    /// (both checked in the lab, docs/certificates.md); `verify`'s served-certificates check sees it.
    static func consumers(ofPKIFile remote: String) -> [String] {
        if selfReloading.contains(remote) { return [] }
        if remote == "etcd/ca.crt" { return ["etcd.service", "kube-apiserver.service"] }
        if remote.hasPrefix("etcd/") { return [] }
        if remote.hasPrefix("sa.") || remote.hasPrefix("ca.") {
            return ["kube-apiserver.service", "kube-controller-manager.service"]
        }
        if remote.hasPrefix("front-proxy-ca.") { return ["kube-apiserver.service", "kube-controller-manager.service"] }
        if remote.hasPrefix("apiserver") || remote.hasPrefix("front-proxy-client") { return ["kube-apiserver.service"] }
        return []
    }

    /// Certificate and key files their server re-reads by itself (paths under /etc/kubernetes/pki).
    public static let selfReloading: Set<String> = [
        "etcd/server.crt", "etcd/server.key", "etcd/peer.crt", "etcd/peer.key", "apiserver.crt", "apiserver.key",
    ]

    func render(_ template: String, _ context: [String: Any]) throws -> String {
        try templates.render(template, context)
    }

    /// The path of an artifact on the node, or an error naming the inventory field to add.
    func artifactPath(_ name: String) throws -> String {
        guard let artifact = settings.artifact(name) else {
            throw ClusterupError.badInput(
                "no artifact for \(name)", at: "\(inventory.path): artifacts.\(name)",
                hint: "add `artifacts: {\(name): {url: …, sha256: …}}`, `{file: path}` or `{present: /path}`; Debian packages no Kubernetes binaries")
        }
        return artifact.path
    }

    /// A managed file for an artifact that is uploaded (nil for package/present sources).
    func uploadedArtifact(_ name: String, restarts: [String], component: String) throws -> ManagedFile? {
        guard let artifact = settings.artifact(name) else { _ = try artifactPath(name); return nil }
        switch artifact.source {
        case .package, .present:
            return nil
        case .url, .file:
            guard let bytes = uploads[name] else {
                throw ClusterupError.local("artifact \(name) was not fetched before planning")
            }
            return ManagedFile(path: artifact.path, content: bytes, mode: 0o755, restarts: restarts, component: component)
        }
    }
}
