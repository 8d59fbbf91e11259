/// Inventory sections the deploy issue adds: `etcd`, `control_plane`, `artifacts`, `templates`.

/// Where a component's program comes from.
public enum ArtifactSource: Sendable, Equatable {
    /// The node's package manager installs `package` (apt-get or dnf).
    case package(String)
    /// Downloaded once into this machine's cache, checked against `sha256`, then uploaded: nodes
    /// need no internet access.
    case url(String, sha256: String)
    /// A file on this machine (air-gapped installs), uploaded as is; an optional `sha256` is checked.
    case file(String, sha256: String?)
    /// Already installed on the node at the artifact's path; `version`, when given, must appear in
    /// the output of `<path> --version`.
    case present(version: String?)
}

public struct Artifact: Sendable, Equatable {
    /// The component: etcd, etcdctl, haproxy, keepalived, clusterup-vrrpd, kube-apiserver, …
    public var name: String
    public var source: ArtifactSource
    /// Where the program lives on the node.
    public var path: String

    public init(name: String, source: ArtifactSource, path: String) {
        self.name = name
        self.source = source
        self.path = path
    }

    /// The default for each component, or nil when the inventory must say (Kubernetes binaries:
    /// Debian ships none).
    public static func defaultArtifact(_ name: String) -> Artifact? {
        switch name {
        case "etcd": Artifact(name: name, source: .package("etcd-server"), path: "/usr/bin/etcd")
        case "etcdctl": Artifact(name: name, source: .package("etcd-client"), path: "/usr/bin/etcdctl")
        case "haproxy": Artifact(name: name, source: .package("haproxy"), path: "/usr/sbin/haproxy")
        case "keepalived": Artifact(name: name, source: .package("keepalived"), path: "/usr/sbin/keepalived")
        case "nft": Artifact(name: name, source: .package("nftables"), path: "/usr/sbin/nft")
        case "socat": Artifact(name: name, source: .package("socat"), path: "/usr/bin/socat")
        default: nil
        }
    }

    public static let kubernetesComponents = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
    /// `nft` loads the VRRP allow-list on lb hosts when `vrrp.firewall` is true. `socat` talks to
    /// HAProxy's runtime API (its admin socket) on lb hosts: rollouts drain apiservers through it.
    public static let names = ["etcd", "etcdctl", "haproxy", "keepalived", "clusterup-vrrpd", "nft", "socat"] + kubernetesComponents
}

public struct EtcdSettings: Sendable, Equatable {
    public var dataDirectory: String = "/var/lib/clusterup/etcd"
    /// Where deploy keeps snapshots on etcd nodes before changing a running cluster.
    public var backupDirectory: String = "/var/lib/clusterup/etcd-backups"
    public var extraArgs: [String] = []

    public init() {}
}

public struct ControlPlaneSettings: Sendable, Equatable {
    /// The Kubernetes release the control plane runs: `upgrade plan` upgrades to it and deploy
    /// refuses to change it (see docs/upgrade.md); with `present` artifacts, checked against `--version`.
    public var version: String?
    public var apiserverExtraArgs: [String] = []
    public var controllerManagerExtraArgs: [String] = []
    public var schedulerExtraArgs: [String] = []

    public init() {}
}

public struct DeploySettings: Sendable, Equatable {
    public var etcd = EtcdSettings()
    public var controlPlane = ControlPlaneSettings()
    /// Inventory `artifacts` entries; components not named use `Artifact.defaultArtifact`.
    public var artifacts: [String: Artifact] = [:]
    /// A directory of the user's own `<name>.mustache` templates replacing the built-ins.
    public var templates: String?

    public init() {}

    public func artifact(_ name: String) -> Artifact? {
        artifacts[name] ?? Artifact.defaultArtifact(name)
    }
}
