/// Inventory sections the deploy issue adds: `etcd`, `control_plane`, `artifacts`, `templates`.

/// Where a component's program comes from.
public enum ArtifactSource: Sendable, Equatable {
    /// The node's package manager installs `package` (apt-get or dnf).
    case package(String)
    /// Downloaded once into this machine's cache, checked against `sha256`, then uploaded: nodes
    /// need no internet access. With `extract`, the download is a release tarball (as etcd and
    /// Kubernetes publish their binaries): `sha256` is the archive's, checked before the archive
    /// is opened, and the member at `extract` (its path inside the archive) is what is uploaded.
    case url(String, sha256: String, extract: String? = nil)
    /// A file on this machine (air-gapped installs), uploaded as is; an optional `sha256` is checked.
    case file(String, sha256: String?)
    /// Already installed on the node at the artifact's path; the artifact's `version`, when given,
    /// must appear in the output of `<path> --version`.
    case present
}

public struct Artifact: Sendable, Equatable {
    /// The component: etcd, etcdctl, haproxy, keepalived, clusterup-vrrpd, kube-apiserver, …
    public var name: String
    public var source: ArtifactSource
    /// Where the program lives on the node.
    public var path: String
    /// The release the program is, as the inventory declares it (`version:`; any source but a
    /// package): what `upgrade plan` upgrades to and what deploy refuses to change.
    public var version: String?
    /// Where each key of the artifact's inventory entry is (`file:line:column`), for errors found
    /// after reading it: a download whose digest differs, a member missing from its archive.
    public var locations: [String: String]

    public init(name: String, source: ArtifactSource, path: String, version: String? = nil, locations: [String: String] = [:]) {
        self.name = name
        self.source = source
        self.path = path
        self.version = version
        self.locations = locations
    }

    /// Bad input about the entry's `key` (`url`, `sha256`, `extract`, …), pointing at its line.
    public func error(_ key: String, _ message: String, hint: String? = nil) -> ClusterupError {
        .badInput("artifacts.\(name).\(key): \(message)", at: locations[key] ?? locations[""], hint: hint)
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
    /// `etcd.snapshots`: scheduled snapshots on every etcd host; nil (off) when absent.
    public var snapshots: EtcdSnapshotSchedule?

    public init() {}
}

/// `etcd.snapshots: {every: 6h, keep: 8, min_free: 1GiB}`: a systemd timer on each etcd host
/// snapshots the local member into the backup directory, keeps the newest `keep`, and skips
/// (an error in the journal) when the snapshot would leave less than `minFree` bytes free.
public struct EtcdSnapshotSchedule: Sendable, Equatable {
    public var every: Duration
    public var keep: Int
    public var minFree: Int64

    public static let defaultKeep = 8
    public static let defaultMinFree: Int64 = 1 << 30

    public init(every: Duration, keep: Int = defaultKeep, minFree: Int64 = defaultMinFree) {
        self.every = every
        self.keep = keep
        self.minFree = minFree
    }
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
