/// An error meant for the operator: what went wrong, where, and what to do about it.
///
/// Every failure that reaches the command line is one of these, so exit codes are decided in one
/// place: bad input (inventory, flags, files the user gave) exits 2, everything else exits 1.
public struct ClusterupError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The user's input is wrong: inventory, flags, a file they pointed at. Exit 2.
        case badInput
        /// A host failed or could not be reached. Exit 1.
        case remote
        /// Something on this machine failed (permissions, a missing tool). Exit 1.
        case local
    }

    public var kind: Kind
    /// Where: `file:line:column`, a field path, or a host name. Optional.
    public var location: String?
    public var message: String
    /// What the operator can do about it.
    public var hint: String?
    /// Which failure this is, for callers that act on it rather than print it; nil for most.
    /// Compared by code, never by message text (the wording is the operator's, and a library's).
    public var code: Code?

    /// An open set of failure codes: each module declares its own as static members, e.g.
    /// `ClusterupError.Code.connectionLost` in ClusterupSSH.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// What this failure means for the operator and what to do, added to the message
        /// wherever the failure is explained (`explain`); nil: the message says enough.
        public let meaning: String?
        public init(_ name: String, meaning: String? = nil) {
            self.name = name
            self.meaning = meaning
        }
        public var description: String { name }
    }

    public init(_ kind: Kind, _ message: String, at location: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.location = location
        self.message = message
        self.hint = hint
    }

    public static func badInput(_ message: String, at location: String? = nil, hint: String? = nil) -> Self {
        .init(.badInput, message, at: location, hint: hint)
    }

    public static func remote(_ message: String, host: String? = nil, hint: String? = nil) -> Self {
        .init(.remote, message, at: host, hint: hint)
    }

    public static func local(_ message: String, at location: String? = nil, hint: String? = nil) -> Self {
        .init(.local, message, at: location, hint: hint)
    }

    public var exitCode: Int32 { kind == .badInput ? 2 : 1 }

    public var description: String {
        var text = location.map { "\($0): \(message)" } ?? message
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}
