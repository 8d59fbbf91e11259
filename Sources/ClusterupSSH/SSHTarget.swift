import ClusterupCore

/// Everything needed to open one SSH connection, fully resolved: no optionals left to guess,
/// no ssh config left to read. Built by `SSHConfig.resolve` from what the inventory asks for.
public struct SSHTarget: Sendable, Equatable {
    /// How commands get root on the host: the inventory's `ssh.sudo` as it is.
    public typealias Sudo = ClusterupCore.Sudo

    /// Name used in messages and errors (the inventory host name).
    public var name: String
    /// Address or DNS name to connect to (after ssh config `HostName`).
    public var address: String
    public var port: Int
    public var user: String
    /// Private key files, tried in order after the agent.
    public var identityFiles: [String]
    public var useAgent: Bool
    /// Agent socket; nil means `$SSH_AUTH_SOCK`.
    public var agentSocket: String?
    /// known_hosts files read for strict host key checking.
    public var knownHostsFiles: [String]
    /// Where `acceptNewHostKeys` records a new key.
    public var knownHostsRecordFile: String
    /// Trust on first use: record an unknown host's key. A changed key is refused regardless.
    public var acceptNewHostKeys: Bool
    /// Environment variable holding the passphrase of encrypted identity files (else a TTY prompt).
    public var passphraseEnv: String?
    /// Environment variable holding the login password; password auth is tried only when set.
    public var passwordEnv: String?
    public var sudo: Sudo
    /// Hosts to go through, first one connected directly (OpenSSH `ProxyJump` order).
    public var jumps: [SSHTarget]
    /// Seconds for TCP connect, handshake and authentication together.
    public var connectTimeout: Double
    /// Seconds a command may run when the caller gives no timeout.
    public var commandTimeout: Double

    public init(
        name: String,
        address: String,
        port: Int = 22,
        user: String,
        identityFiles: [String] = [],
        useAgent: Bool = true,
        agentSocket: String? = nil,
        knownHostsFiles: [String],
        knownHostsRecordFile: String? = nil,
        acceptNewHostKeys: Bool = false,
        passphraseEnv: String? = nil,
        passwordEnv: String? = nil,
        sudo: Sudo = .none,
        jumps: [SSHTarget] = [],
        connectTimeout: Double = 10,
        commandTimeout: Double = 300
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.useAgent = useAgent
        self.agentSocket = agentSocket
        self.knownHostsFiles = knownHostsFiles
        self.knownHostsRecordFile = knownHostsRecordFile ?? knownHostsFiles.first ?? "~/.ssh/known_hosts"
        self.acceptNewHostKeys = acceptNewHostKeys
        self.passphraseEnv = passphraseEnv
        self.passwordEnv = passwordEnv
        self.sudo = sudo
        self.jumps = jumps
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// `user@address:port` as operators write it.
    public var endpoint: String {
        let host = address.contains(":") ? "[\(address)]" : address
        return "\(user)@\(host):\(port)"
    }

    /// Sudo only matters for non-root users.
    var effectiveSudo: Sudo { user == "root" ? .none : sudo }
}
