import ClusterupCore
import Foundation

/// What the inventory asks for one host: every field optional, nil meaning "not said".
/// `SSHConfig.resolve` turns it into an `SSHTarget`: explicit values win over the ssh config,
/// the ssh config over defaults.
public struct SSHTargetSpec: Sendable, Equatable {
    public var name: String
    /// The inventory address; also what ssh config `Host` patterns are matched against.
    public var address: String
    public var user: String?
    public var port: Int?
    /// Already absolute (the inventory resolves paths relative to its file); `~` is expanded.
    public var identityFiles: [String]?
    public var useAgent: Bool?
    /// The one known_hosts file to read and record into.
    public var knownHostsFile: String?
    public var passphraseEnv: String?
    public var passwordEnv: String?
    public var sudo: SSHTarget.Sudo?
    /// nil: ask the ssh config (`ProxyJump`); empty: explicitly direct.
    public var bastion: [SSHJumpSpec]?
    public var connectTimeout: Double?
    public var commandTimeout: Double?
    public var useSSHConfig: Bool
    public var acceptNewHostKeys: Bool

    public init(
        name: String, address: String, user: String? = nil, port: Int? = nil,
        identityFiles: [String]? = nil, useAgent: Bool? = nil, knownHostsFile: String? = nil,
        passphraseEnv: String? = nil, passwordEnv: String? = nil, sudo: SSHTarget.Sudo? = nil,
        bastion: [SSHJumpSpec]? = nil, connectTimeout: Double? = nil, commandTimeout: Double? = nil,
        useSSHConfig: Bool = true, acceptNewHostKeys: Bool = false
    ) {
        self.name = name
        self.address = address
        self.user = user
        self.port = port
        self.identityFiles = identityFiles
        self.useAgent = useAgent
        self.knownHostsFile = knownHostsFile
        self.passphraseEnv = passphraseEnv
        self.passwordEnv = passwordEnv
        self.sudo = sudo
        self.bastion = bastion
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.useSSHConfig = useSSHConfig
        self.acceptNewHostKeys = acceptNewHostKeys
    }
}

/// One hop of a jump chain: `[user@]host[:port]` (or the inventory's mapping form).
public struct SSHJumpSpec: Sendable, Equatable {
    public var host: String
    public var port: Int?
    public var user: String?
    public var identityFiles: [String]?

    public init(host: String, port: Int? = nil, user: String? = nil, identityFiles: [String]? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
    }

    /// Parses an OpenSSH `ProxyJump` value: comma-separated hops, each `[user@]host[:port]`,
    /// `[v6addr]:port` or `ssh://[user@]host[:port]`; `none` is an empty chain.
    public static func parseChain(_ text: String, location: String) throws -> [SSHJumpSpec] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "none" { return [] }
        return try trimmed.split(separator: ",", omittingEmptySubsequences: false).map { hop in
            try parseHop(hop.trimmingCharacters(in: .whitespaces), location: location)
        }
    }

    static func parseHop(_ text: String, location: String) throws -> SSHJumpSpec {
        var rest = Substring(text)
        if rest.hasPrefix("ssh://") { rest = rest.dropFirst(6) }
        var user: String? = nil
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var host: Substring
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw bad("unclosed '[' in '\(text)'")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw bad("unexpected '\(after)' in '\(text)'") }
        } else if let colon = rest.firstIndex(of: ":"), rest.filter({ $0 == ":" }).count == 1 {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        if host.isEmpty || user?.isEmpty == true { throw bad("'\(text)' is not [user@]host[:port]") }
        var port: Int? = nil
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw bad("port '\(portText)' in '\(text)' is not a number between 1 and 65535")
            }
            port = value
        }
        return SSHJumpSpec(host: String(host), port: port, user: user)

        func bad(_ message: String) -> ClusterupError {
            ClusterupError.badInput("bad jump host: \(message)", at: location,
                                    hint: "write it as user@host:port, several separated by commas")
        }
    }
}

/// The few facts about this machine that ssh config expansion needs.
public struct SSHLocalContext: Sendable, Equatable {
    public var home: String
    public var user: String
    public var hostName: String
    public var uid: UInt32
    /// Tells which default identity files exist.
    public var fileExists: @Sendable (String) -> Bool

    public init(home: String, user: String, hostName: String = "localhost", uid: UInt32 = 0,
                fileExists: @escaping @Sendable (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) {
        self.home = home
        self.user = user
        self.hostName = hostName
        self.uid = uid
        self.fileExists = fileExists
    }

    public static var current: SSHLocalContext {
        let uid = getuid()
        var user = ProcessInfo.processInfo.environment["USER"] ?? ""
        var home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        if let entry = getpwuid(uid) {
            if user.isEmpty { user = String(cString: entry.pointee.pw_name) }
            if home.isEmpty { home = String(cString: entry.pointee.pw_dir) }
        }
        // gethostname(2), not ProcessInfo.hostName, which may ask DNS for a canonical name.
        var buffer = [UInt8](repeating: 0, count: 256)
        let named = buffer.withUnsafeMutableBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count - 1) == 0 }
        }
        let hostName = named ? String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self) : "localhost"
        return SSHLocalContext(home: home.isEmpty ? "/" : home, user: user.isEmpty ? "root" : user,
                               hostName: String(hostName.prefix { $0 != "." }), uid: uid)
    }

    public static func == (lhs: SSHLocalContext, rhs: SSHLocalContext) -> Bool {
        lhs.home == rhs.home && lhs.user == rhs.user && lhs.hostName == rhs.hostName && lhs.uid == rhs.uid
    }
}

extension SSHConfig {
    /// OpenSSH's default identities, in its order; only existing ones are used.
    static let defaultIdentityNames = ["id_rsa", "id_ecdsa", "id_ed25519"]

    /// Resolves what the inventory asks for against this ssh config.
    /// Precedence per field: explicit spec value, then ssh config (first obtained value), then default.
    /// Jump hosts are resolved the same way, inheriting the spec's keys, agent and known_hosts;
    /// their own ProxyJump is not followed (the chain is given in full, as `ssh -J a,b` does).
    public func resolve(_ spec: SSHTargetSpec, local: SSHLocalContext = .current) throws -> SSHTarget {
        let config = spec.useSSHConfig ? self : .empty
        let options = config.options(for: spec.address)
        let alias = spec.address
        let address = options.hostName.map { expandTokens($0, local: local, host: alias, alias: alias, user: "", port: 0) } ?? alias
        let user = spec.user ?? options.user ?? local.user
        let port = spec.port ?? options.port ?? 22
        func expand(_ path: String) -> String {
            expandTokens(expandTilde(path, home: local.home), local: local, host: address, alias: alias, user: user, port: port)
        }

        let identityFiles: [String]
        if let explicit = spec.identityFiles {
            identityFiles = explicit.map { expandTilde($0, home: local.home) }
        } else if !options.identityFiles.isEmpty {
            identityFiles = options.identityFiles.map(expand)
        } else {
            identityFiles = Self.defaultIdentityNames.map { local.home + "/.ssh/" + $0 }.filter(local.fileExists)
        }

        let knownHosts: [String]
        if let explicit = spec.knownHostsFile {
            knownHosts = [expandTilde(explicit, home: local.home)]
        } else if let files = options.userKnownHostsFiles, !files.isEmpty, files != ["none"] {
            knownHosts = files.map(expand)
        } else {
            knownHosts = [local.home + "/.ssh/known_hosts", local.home + "/.ssh/known_hosts2"]
        }
        // The system-wide file is trusted for reading, as by OpenSSH, unless the inventory pins one file.
        let readFiles = spec.knownHostsFile == nil ? knownHosts + ["/etc/ssh/ssh_known_hosts"] : knownHosts

        let chain: [SSHJumpSpec]
        if let explicit = spec.bastion {
            chain = explicit
        } else if let command = options.proxyCommand, command.lowercased() != "none" {
            throw ClusterupError.badInput(
                "ProxyCommand applies to \(alias) but clusterup cannot use it", at: options.proxyCommandLocation,
                hint: "use ProxyJump in the ssh config or ssh.bastion in the inventory (a jump host), or set use_ssh_config: false")
        } else if let proxyJump = options.proxyJump {
            let location = config.directives.first { $0.keyword == "proxyjump" && $0.arguments.first == proxyJump }?.location
            chain = try SSHJumpSpec.parseChain(proxyJump, location: location ?? "ssh config ProxyJump")
        } else {
            chain = []
        }
        let jumps = try chain.map { hop in
            try resolve(SSHTargetSpec(
                name: hop.host, address: hop.host, user: hop.user, port: hop.port,
                identityFiles: hop.identityFiles ?? spec.identityFiles, useAgent: spec.useAgent,
                knownHostsFile: spec.knownHostsFile, passphraseEnv: spec.passphraseEnv,
                sudo: SSHTarget.Sudo.none, bastion: [], connectTimeout: spec.connectTimeout,
                useSSHConfig: spec.useSSHConfig, acceptNewHostKeys: spec.acceptNewHostKeys
            ), local: local)
        }

        return SSHTarget(
            name: spec.name, address: address, port: port, user: user,
            identityFiles: identityFiles, useAgent: spec.useAgent ?? true,
            knownHostsFiles: readFiles, knownHostsRecordFile: knownHosts[0],
            acceptNewHostKeys: spec.acceptNewHostKeys,
            passphraseEnv: spec.passphraseEnv, passwordEnv: spec.passwordEnv,
            sudo: spec.sudo ?? .none, jumps: jumps,
            connectTimeout: spec.connectTimeout ?? 10, commandTimeout: spec.commandTimeout ?? 300
        )
    }
}

/// OpenSSH `%` tokens in paths: %% %d %u %l %i (local), %h %n %r %p (remote).
func expandTokens(_ text: String, local: SSHLocalContext, host: String, alias: String, user: String, port: Int) -> String {
    guard text.contains("%") else { return text }
    var out = ""
    var percent = false
    for character in text {
        if percent {
            switch character {
            case "%": out += "%"
            case "d": out += local.home
            case "u": out += local.user
            case "l": out += local.hostName
            case "i": out += String(local.uid)
            case "h": out += host
            case "n": out += alias
            case "r": out += user
            case "p": out += String(port)
            default: out += "%" + String(character)
            }
            percent = false
        } else if character == "%" {
            percent = true
        } else {
            out.append(character)
        }
    }
    if percent { out += "%" }
    return out
}
