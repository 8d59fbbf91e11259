/// A loaded, validated inventory: everything clusterup knows about the cluster before touching a node.
///
/// Paths inside are absolute (relative ones were resolved against the inventory file's directory,
/// `~` expanded). Per-host SSH settings already have the host's overrides merged over `ssh`.
public struct Inventory: Sendable, Equatable {
    /// Absolute path of the inventory file.
    public var path: String
    public var cluster: String
    /// The defaults every host starts from.
    public var ssh: SSHSettings
    public var hosts: [InventoryHost]
    public var vip: VIPSettings?
    public var vrrp: VRRPSettings?
    public var pki: PKISettings
    /// The `etcd`, `control_plane`, `artifacts` and `templates` sections.
    public var deploy = DeploySettings()

    public init(
        path: String, cluster: String, ssh: SSHSettings, hosts: [InventoryHost],
        vip: VIPSettings? = nil, vrrp: VRRPSettings? = nil, pki: PKISettings
    ) {
        self.path = path
        self.cluster = cluster
        self.ssh = ssh
        self.hosts = hosts
        self.vip = vip
        self.vrrp = vrrp
        self.pki = pki
    }

    /// The directory holding the inventory file; relative paths in it are relative to this.
    public var directory: String { parentDirectory(of: path) }

    /// Cluster names are DNS-label-like: lower-case letters, digits, inner hyphens, at most 40 characters.
    public static func isValidClusterName(_ name: String) -> Bool { InventoryReader.isClusterName(name) }

    public func host(named name: String) -> InventoryHost? { hosts.first { $0.name == name } }

    /// Hosts carrying `role`, in inventory order.
    public func hosts(withRole role: Role) -> [InventoryHost] { hosts.filter { $0.roles.contains(role) } }

    /// The VIP, or an error saying which command needs it and what to add.
    public func requireVIP(for purpose: String) throws(ClusterupError) -> VIPSettings {
        guard let vip else {
            throw .badInput(
                "\(purpose) needs the virtual IP, but the inventory has no 'vip' section", at: path,
                hint: "add 'vip: {address: <free address on the nodes' subnet>}' (see `clusterup init` for an example)")
        }
        return vip
    }
}

/// One machine in the inventory (not `Host`: Foundation on Linux has a `Host` class, and every
/// file importing both had to qualify the name).
public struct InventoryHost: Sendable, Equatable, Hashable {
    /// Unique name; also the node name in etcd and Kubernetes.
    public var name: String
    /// What SSH connects to: an IPv4/IPv6 address or a DNS name.
    public var address: String
    /// Address for cluster traffic (etcd peers, apiserver). Equals `address` unless set.
    public var privateAddress: String
    public var roles: Set<Role>
    /// Defaults with this host's overrides merged over them.
    public var ssh: SSHSettings

    public init(name: String, address: String, privateAddress: String? = nil, roles: Set<Role>, ssh: SSHSettings = SSHSettings()) {
        self.name = name
        self.address = address
        self.privateAddress = privateAddress ?? address
        self.roles = roles
        self.ssh = ssh
    }

    /// Roles in their canonical order (etcd, control-plane, lb), for display.
    public var sortedRoles: [Role] { Role.allCases.filter(roles.contains) }
}

public enum Role: String, Sendable, Hashable, CaseIterable, Comparable {
    case etcd
    case controlPlane = "control-plane"
    case lb

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The valid spellings, for error messages.
    public static var names: [String] { allCases.map(\.rawValue) }
}

/// How to reach and authenticate to a host. Optional fields are `nil` when the inventory does not set
/// them, so the SSH layer can apply ~/.ssh/config first and the built-in default last, as OpenSSH does.
public struct SSHSettings: Sendable, Equatable, Hashable {
    /// nil: ~/.ssh/config `User`, else the local user name.
    public var user: String?
    /// nil: ~/.ssh/config `Port`, else 22.
    public var port: Int?
    /// Absolute paths. Empty: ~/.ssh/config `IdentityFile`, else OpenSSH's default key files.
    public var identityFiles: [String]
    /// Use ssh-agent ($SSH_AUTH_SOCK) when available.
    public var agent: Bool
    /// Absolute path. nil: ~/.ssh/known_hosts plus ~/.ssh/config `UserKnownHostsFile`.
    public var knownHosts: String?
    /// Environment variable holding the key passphrase; nil: prompt on a TTY.
    public var passphraseEnv: String?
    /// Password authentication is tried only when this names an environment variable.
    public var passwordEnv: String?
    public var sudo: Sudo
    /// nil: direct connection (or ~/.ssh/config `ProxyJump`).
    public var bastion: Bastion?
    public var connectTimeout: Duration
    /// Default per-command timeout.
    public var commandTimeout: Duration
    /// Read ~/.ssh/config for Host, HostName, User, Port, IdentityFile, ProxyJump, UserKnownHostsFile.
    public var useSSHConfig: Bool

    public static let defaultPort = 22
    public static let defaultConnectTimeout = Duration.seconds(10)
    public static let defaultCommandTimeout = Duration.seconds(300)

    public init(
        user: String? = nil, port: Int? = nil, identityFiles: [String] = [], agent: Bool = true,
        knownHosts: String? = nil, passphraseEnv: String? = nil, passwordEnv: String? = nil,
        sudo: Sudo = .none, bastion: Bastion? = nil,
        connectTimeout: Duration = defaultConnectTimeout, commandTimeout: Duration = defaultCommandTimeout,
        useSSHConfig: Bool = true
    ) {
        self.user = user
        self.port = port
        self.identityFiles = identityFiles
        self.agent = agent
        self.knownHosts = knownHosts
        self.passphraseEnv = passphraseEnv
        self.passwordEnv = passwordEnv
        self.sudo = sudo
        self.bastion = bastion
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.useSSHConfig = useSSHConfig
    }
}

/// How commands that need root are run for a non-root SSH user (also ClusterupSSH's `SSHTarget.Sudo`).
public enum Sudo: Sendable, Equatable, Hashable {
    /// Commands run as the SSH user (who should be root).
    case none
    /// `sudo -n`: the user may sudo without a password.
    case passwordless
    /// `sudo -S`: the password is read from this environment variable on this machine.
    case password(env: String)
}

/// A jump host reached first; the target is then opened through a direct-tcpip channel.
public struct Bastion: Sendable, Equatable, Hashable {
    public var host: String
    /// nil: ~/.ssh/config, else 22.
    public var port: Int?
    /// nil: the target's SSH user resolution applies (~/.ssh/config, local user).
    public var user: String?
    /// Absolute paths; empty: the same keys as the target.
    public var identityFiles: [String]

    public init(host: String, port: Int? = nil, user: String? = nil, identityFiles: [String] = []) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
    }

    /// `user@host:port`, as written in the short form.
    public var description: String {
        var text = user.map { "\($0)@" } ?? ""
        text += host.contains(":") ? "[\(host)]" : host
        if let port { text += ":\(port)" }
        return text
    }
}

func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}
