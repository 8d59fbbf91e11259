import ClusterupCore
import Foundation

/// An OpenSSH client configuration (`~/.ssh/config`), reduced to the options clusterup honours:
/// HostName, User, Port, IdentityFile, ProxyJump, UserKnownHostsFile.
///
/// Parsing flattens `Include`s into one ordered list of directives, each carrying the `Host`/`Match`
/// conditions it sits under; `options(for:)` then applies OpenSSH's rule that the first value
/// obtained for an option wins (IdentityFile accumulates instead).
public struct SSHConfig: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        case host([HostPattern])
        /// `Match all`.
        case always
        /// A `Match` we do not evaluate: its block never applies (safer than applying it everywhere).
        case never
    }

    public struct HostPattern: Sendable, Equatable {
        public var pattern: String
        public var negated: Bool
    }

    public struct Directive: Sendable, Equatable {
        /// Lower-cased, as OpenSSH keywords are case-insensitive.
        public var keyword: String
        public var arguments: [String]
        /// `file:line`, for error messages.
        public var location: String
        /// All must hold: the enclosing file's block (for included files) and this file's block.
        public var conditions: [Condition]
    }

    /// Reads files for `Include`; replaceable so parsing stays testable without a home directory.
    public struct FileSystem: Sendable {
        public var read: @Sendable (String) -> String?
        public var glob: @Sendable (String) -> [String]

        public init(read: @escaping @Sendable (String) -> String?, glob: @escaping @Sendable (String) -> [String]) {
            self.read = read
            self.glob = glob
        }

        public static let real = FileSystem(
            read: { path in try? String(contentsOfFile: path, encoding: .utf8) },
            glob: { pattern in globFiles(pattern) }
        )
    }

    public var directives: [Directive] = []
    /// Things we skipped on purpose (an unsupported `Match`), for the caller to log.
    public var warnings: [String] = []

    public init() {}

    public static let empty = SSHConfig()

    /// Reads `path` (default `~/.ssh/config`); a missing file is an empty config, as for OpenSSH.
    public static func load(
        path: String? = nil, local: SSHLocalContext = .current, fileSystem: FileSystem = .real
    ) throws -> SSHConfig {
        let file = path.map { expandTilde($0, home: local.home) } ?? local.home + "/.ssh/config"
        guard let text = fileSystem.read(file) else { return .empty }
        return try parse(text, path: file, local: local, fileSystem: fileSystem)
    }

    public static func parse(
        _ text: String, path: String, local: SSHLocalContext = .current, fileSystem: FileSystem = .real
    ) throws -> SSHConfig {
        var config = SSHConfig()
        try config.append(text, path: path, parentConditions: [], depth: 0, local: local, fileSystem: fileSystem)
        return config
    }

    private static let maxIncludeDepth = 16

    private mutating func append(
        _ text: String, path: String, parentConditions: [Condition], depth: Int,
        local: SSHLocalContext, fileSystem: FileSystem
    ) throws {
        var current = parentConditions
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let location = "\(path):\(index + 1)"
            guard let (keyword, arguments) = try Self.splitLine(String(rawLine), location: location) else { continue }
            switch keyword {
            case "host":
                guard !arguments.isEmpty else {
                    throw ClusterupError.badInput("Host needs at least one pattern", at: location)
                }
                let patterns = arguments.map { argument in
                    argument.hasPrefix("!")
                        ? HostPattern(pattern: String(argument.dropFirst()), negated: true)
                        : HostPattern(pattern: argument, negated: false)
                }
                current = parentConditions + [.host(patterns)]
            case "match":
                if arguments.map({ $0.lowercased() }) == ["all"] {
                    current = parentConditions + [.always]
                } else {
                    warnings.append("\(location): 'Match \(arguments.joined(separator: " "))' is not supported; its block is ignored")
                    current = parentConditions + [.never]
                }
            case "include":
                guard depth < Self.maxIncludeDepth else {
                    throw ClusterupError.badInput("Include nested deeper than \(Self.maxIncludeDepth) levels", at: location)
                }
                for argument in arguments {
                    var pattern = expandTilde(argument, home: local.home)
                    if !pattern.hasPrefix("/") { pattern = local.home + "/.ssh/" + pattern }
                    for file in fileSystem.glob(pattern).sorted() {
                        guard let included = fileSystem.read(file) else { continue }
                        try append(included, path: file, parentConditions: current, depth: depth + 1,
                                   local: local, fileSystem: fileSystem)
                    }
                }
            default:
                if keyword == "port", let port = arguments.first, Int(port).map({ (1...65535).contains($0) }) != true {
                    throw ClusterupError.badInput("Port '\(port)' is not a number between 1 and 65535", at: location)
                }
                directives.append(Directive(keyword: keyword, arguments: arguments, location: location, conditions: current))
            }
        }
    }

    /// Splits `Keyword [=] args...` the way OpenSSH does: quotes group, `#` starts a comment.
    /// Returns nil for blank and comment lines.
    static func splitLine(_ line: String, location: String) throws -> (String, [String])? {
        var tokens: [String] = []
        var token = ""
        var inToken = false
        var quote: Character? = nil
        var escaped = false
        var keywordDone = false
        for character in line {
            if escaped {
                token.append(character)
                escaped = false
                continue
            }
            if let open = quote {
                if character == open { quote = nil } else { token.append(character) }
                continue
            }
            switch character {
            case "\\":
                escaped = true
                inToken = true
            case "\"", "'":
                quote = character
                inToken = true
            case "#" where !inToken:
                return try finish()
            case "=" where !keywordDone && tokens.count + (inToken ? 1 : 0) == 1:
                // `Keyword=value`: the first `=` ends the keyword.
                if inToken { tokens.append(token); token = ""; inToken = false }
                keywordDone = true
            case " ", "\t", "\r":
                if inToken { tokens.append(token); token = ""; inToken = false }
            default:
                token.append(character)
                inToken = true
            }
        }
        if quote != nil {
            throw ClusterupError.badInput("unterminated quote", at: location)
        }
        return try finish()

        func finish() throws -> (String, [String])? {
            if inToken { tokens.append(token) }
            guard let keyword = tokens.first else { return nil }
            return (keyword.lowercased(), Array(tokens.dropFirst()))
        }
    }

    /// The options OpenSSH would use for `ssh <host>`.
    public func options(for host: String) -> SSHHostOptions {
        var options = SSHHostOptions()
        for directive in directives where directive.conditions.allSatisfy({ Self.holds($0, for: host) }) {
            let first = directive.arguments.first
            switch directive.keyword {
            case "hostname": options.hostName = options.hostName ?? first
            case "user": options.user = options.user ?? first
            case "port": options.port = options.port ?? first.flatMap { Int($0) }
            case "identityfile": options.identityFiles += directive.arguments.prefix(1)
            // ProxyJump and ProxyCommand exclude each other: whichever comes first wins.
            case "proxyjump" where options.proxyCommand == nil: options.proxyJump = options.proxyJump ?? first
            case "proxycommand" where options.proxyJump == nil:
                if options.proxyCommand == nil {
                    options.proxyCommand = directive.arguments.joined(separator: " ")
                    options.proxyCommandLocation = directive.location
                }
            case "userknownhostsfile": options.userKnownHostsFiles = options.userKnownHostsFiles ?? directive.arguments
            default: break
            }
        }
        return options
    }

    static func holds(_ condition: Condition, for host: String) -> Bool {
        switch condition {
        case .always: return true
        case .never: return false
        case .host(let patterns):
            let host = host.lowercased()
            var matched = false
            for pattern in patterns where wildcardMatch(pattern.pattern.lowercased(), host) {
                if pattern.negated { return false }
                matched = true
            }
            return matched
        }
    }
}

/// What the ssh config says about one host. Paths are as written (tokens not yet expanded).
public struct SSHHostOptions: Sendable, Equatable {
    public var hostName: String?
    public var user: String?
    public var port: Int?
    public var identityFiles: [String] = []
    public var proxyJump: String?
    /// Not supported (clusterup does not spawn commands to reach hosts); reported, never ignored.
    public var proxyCommand: String?
    public var proxyCommandLocation: String?
    public var userKnownHostsFiles: [String]?

    public init() {}
}

/// OpenSSH glob: `*` any run, `?` one character.
func wildcardMatch(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern), t = Array(text)
    var pi = 0, ti = 0
    var star: Int? = nil, starText = 0
    while ti < t.count {
        if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
            pi += 1; ti += 1
        } else if pi < p.count, p[pi] == "*" {
            star = pi; starText = ti; pi += 1
        } else if let s = star {
            pi = s + 1; starText += 1; ti = starText
        } else {
            return false
        }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}

func expandTilde(_ path: String, home: String) -> String {
    if path == "~" { return home }
    if path.hasPrefix("~/") { return home + path.dropFirst() }
    return path
}

private func globFiles(_ pattern: String) -> [String] {
    var result = glob_t()
    defer { globfree(&result) }
    guard glob(pattern, 0, nil, &result) == 0 else { return [] }
    return (0..<Int(result.gl_pathc)).compactMap { index in
        result.gl_pathv[index].map { String(cString: $0) }
    }
}
