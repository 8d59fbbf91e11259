import Foundation
import ClusterupCore

/// POSIX `sh` quoting, so commands built here mean the same thing on every remote shell.
public enum Shell {
    /// One word, quoted only when needed: `it's` becomes `'it'\''s'`.
    public static func quote(_ word: String) -> String { shellQuote(word) }

    public static func quote(_ words: [String]) -> String {
        words.map { quote($0) }.joined(separator: " ")
    }

    /// `trap '<rm -f -- paths>' EXIT`: the trap's action is itself a command, so it is quoted as
    /// one word after its own words were quoted (never a quoted word pasted inside quotes).
    public static func removeOnExit(_ paths: [String]) -> String {
        "trap " + quote("rm -f -- " + quote(paths)) + " EXIT"
    }

    /// `export K=V; ` for each variable (sorted, so the command text is stable), because sshd
    /// usually refuses `setenv` requests (AcceptEnv).
    public static func exportPrefix(_ environment: [String: String]) throws -> String {
        try environment.keys.sorted().map { name in
            guard isVariableName(name) else {
                throw ClusterupError.badInput("'\(name)' is not a valid environment variable name",
                                              hint: "use letters, digits and '_', not starting with a digit")
            }
            return "export \(name)=\(quote(environment[name]!)); "
        }.joined()
    }

    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isASCIILetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }
    }

    private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c)
    }

    /// Wraps a script to run as root: `sudo -n` when passwordless; with a password, `sudo -S`
    /// behind a handshake that answers sudo's own prompt only (see `SudoHandshake`), so the
    /// password never becomes part of the command's stdin.
    static func sudo(_ script: String, mode: SSHTarget.Sudo, password: String?) -> (command: String, handshake: SudoHandshake?) {
        switch mode {
        case .none:
            return (script, nil)
        case .passwordless:
            return ("sudo -n -- sh -c " + quote(script), nil)
        case .password:
            let handshake = SudoHandshake.random(password: password ?? "")
            return (handshake.wrap(script), handshake)
        }
    }
}
