import ClusterupCore

/// What the inventory asks for one component.
public enum WantedVersion: Sendable, Equatable {
    /// A release number, and the inventory field that gave it.
    case version(ComponentVersion, from: String)
    /// clusterup-vrrpd is identified by its build: the sha256 of the binary deploy uploads.
    case build(sha256: String, from: String)
    /// The inventory does not say (a package with no version pinned): said, never guessed.
    case unknown(String)

    public var text: String {
        switch self {
        case .version(let version, _): version.text
        case .build(let sha256, _): "sha256 \(sha256.prefix(12))"
        case .unknown: "not declared"
        }
    }
}

/// What one host has of one component, as read from it.
public struct InstalledVersion: Sendable, Equatable {
    /// The first line the program printed for its version (or "not installed").
    public var text: String
    public var version: ComponentVersion?
    /// clusterup-vrrpd: the sha256 deploy recorded when it uploaded the binary.
    public var build: String?
    public var isInstalled: Bool

    public init(text: String, build: String? = nil) {
        let line = text.split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        isInstalled = !(line.isEmpty || line.contains("not found") || line.contains("No such file") || line == "not installed")
        self.text = isInstalled ? line : "not installed"
        version = isInstalled ? ComponentVersion(parsing: line) : nil
        self.build = build
    }

    public var display: String {
        let shown = version?.text ?? text
        return build.map { "\(shown) (sha256 \($0.prefix(12)))" } ?? shown
    }
}

/// One host's components, read in one round trip.
public struct HostVersions: Sendable, Equatable {
    public var host: String
    public var installed: [UpgradeComponent: InstalledVersion]
    /// The clusterup-vrrpd running there can restart in place (SIGUSR2: its status reports
    /// `restarts_in_place`), so an upgrade on the VIP holder need not move the VIP.
    public var vrrpdRestartsInPlace: Bool

    public init(host: String, installed: [UpgradeComponent: InstalledVersion], vrrpdRestartsInPlace: Bool = false) {
        self.host = host
        self.installed = installed
        self.vrrpdRestartsInPlace = vrrpdRestartsInPlace
    }
}

/// Everything the planner knows about the hosts: versions per host (inventory order), which etcd
/// member leads, which lb host holds the VIP.
public struct UpgradeFacts: Sendable, Equatable {
    public var hosts: [HostVersions]
    public var etcdLeader: String?
    public var vipHolder: String?

    public init(hosts: [HostVersions], etcdLeader: String?, vipHolder: String?) {
        self.hosts = hosts
        self.etcdLeader = etcdLeader
        self.vipHolder = vipHolder
    }
}

/// What the operator asked for, from the inventory and the command line.
public struct UpgradeRequest: Sendable, Equatable {
    public var wanted: [UpgradeComponent: WantedVersion]
    public var allowDowngrade: Bool
    /// VRRP priority per lb host and whether the highest takes the VIP back (preempt).
    public var vrrpPriorities: [String: Int]
    public var preempt: Bool

    public init(wanted: [UpgradeComponent: WantedVersion], allowDowngrade: Bool = false, vrrpPriorities: [String: Int] = [:], preempt: Bool = true) {
        self.wanted = wanted
        self.allowDowngrade = allowDowngrade
        self.vrrpPriorities = vrrpPriorities
        self.preempt = preempt
    }

    /// The wanted version of every component from the inventory: an artifact's `version` (a
    /// `present`, url, tarball or file artifact), else for the Kubernetes components `control_plane.version`, else clusterup-vrrpd's
    /// build (`vrrpdBuild`: the sha256 of the binary deploy would upload); anything else is unknown.
    public static func wanted(settings: DeploySettings, vrrpdBuild: String?) throws(ClusterupError) -> [UpgradeComponent: WantedVersion] {
        var wanted: [UpgradeComponent: WantedVersion] = [:]
        let controlPlane: ComponentVersion?
        if let text = settings.controlPlane.version {
            guard let version = ComponentVersion(parsing: text) else {
                throw .badInput("control_plane.version '\(text)' is not a version", at: "control_plane.version",
                                hint: "write it as Kubernetes does: v1.31.2")
            }
            controlPlane = version
        } else {
            controlPlane = nil
        }
        for component in UpgradeComponent.allCases {
            let artifact = settings.artifact(component.rawValue)
            let field = "artifacts.\(component.rawValue)"
            if let text = artifact?.version {
                guard let version = ComponentVersion(parsing: text) else {
                    throw .badInput("\(field).version '\(text)' is not a version", at: "\(field).version", hint: "write it as the program prints it: 3.5.16")
                }
                wanted[component] = .version(version, from: "\(field).version")
                continue
            }
            if component.isKubernetes, let controlPlane {
                wanted[component] = .version(controlPlane, from: "control_plane.version")
                continue
            }
            if component == .clusterupVRRPD, let vrrpdBuild {
                wanted[component] = .build(sha256: vrrpdBuild.lowercased(), from: "the clusterup-vrrpd binary deploy uploads")
                continue
            }
            switch artifact?.source {
            case .package(let package)?:
                wanted[component] = .unknown("package \(package) with no version pinned: the node's package manager decides")
            case .present?:
                wanted[component] = .unknown("\(field) is `present` with no version")
            case .url?, .file?:
                wanted[component] = .unknown(component.isKubernetes
                    ? "\(field) names no version: set control_plane.version or \(field).version" : "\(field) names no version: add \(field).version")
            case nil:
                wanted[component] = .unknown("no artifact for it in the inventory")
            }
        }
        return wanted
    }
}
