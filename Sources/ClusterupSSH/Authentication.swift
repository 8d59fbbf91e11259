import CLibSSH2
import ClusterupCore
import Foundation

extension SSHConnection {
    /// ssh-agent, then identity files, then (only when configured) password; on failure the error
    /// lists what was tried and what the server allows.
    func authenticate(_ deadline: Deadline) throws {
        let user = target.user
        let session = core.raw
        let list = try core.retryPointer(deadline) {
            libssh2_userauth_list(session, user, UInt32(user.utf8.count))
        }
        if libssh2_userauth_authenticated(session) != 0 { return } // "none" was accepted
        let allowed = list.map { String(cString: $0).split(separator: ",").map(String.init) } ?? []
        var tried: [String] = []
        var rsaKeys: [String] = []

        if allowed.contains("publickey") {
            if target.useAgent, try authenticateWithAgent(deadline, tried: &tried, rsaKeys: &rsaKeys) { return }
            for file in target.identityFiles {
                if try authenticateWithKeyFile(file, deadline, tried: &tried, rsaKeys: &rsaKeys) { return }
            }
        }
        if let passwordEnv = target.passwordEnv, allowed.contains("password") {
            guard let password = ProcessInfo.processInfo.environment[passwordEnv] else {
                throw ClusterupError.badInput("password authentication is configured but $\(passwordEnv) is not set",
                                              at: target.name, hint: "export \(passwordEnv) before running")
            }
            let rc = try core.retry(deadline) {
                libssh2_userauth_password_ex(session, user, UInt32(user.utf8.count), password, UInt32(password.utf8.count), nil)
            }
            if rc == 0 { return }
            tried.append("password from $\(passwordEnv) (rejected)")
        }

        let triedText: String = tried.isEmpty ? "nothing usable" : tried.joined(separator: "; ")
        let allowedText: String = allowed.isEmpty ? "(nothing it would say)" : allowed.joined(separator: ", ")
        var hint = "tried: \(triedText). The server allows: \(allowedText)."
        if !rsaKeys.isEmpty {
            hint += " RSA key(s) \(rsaKeys.joined(separator: ", ")): libssh2 \(libssh2Version) signs RSA only with ssh-rsa (SHA-1), "
                + "which OpenSSH 8.8 and later refuse by default. Use an ed25519 or ECDSA key (ssh-keygen -t ed25519), "
                + "or allow it on the server with 'PubkeyAcceptedAlgorithms +ssh-rsa' in sshd_config."
        } else if target.identityFiles.isEmpty && !target.useAgent {
            hint += " Set ssh.identity_files in the inventory or enable ssh.agent."
        } else {
            hint += " Check that the public key is in ~\(target.user)/.ssh/authorized_keys on the host."
        }
        throw ClusterupError.remote("authentication as '\(user)' to \(target.address):\(target.port) failed",
                                    host: target.name, hint: hint)
    }

    private func authenticateWithAgent(_ deadline: Deadline, tried: inout [String], rsaKeys: inout [String]) throws -> Bool {
        let path = target.agentSocket ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        guard let path, !path.isEmpty, let agent = libssh2_agent_init(core.raw) else { return false }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        libssh2_agent_set_identity_path(agent, path)
        guard libssh2_agent_connect(agent) == 0, libssh2_agent_list_identities(agent) == 0 else {
            tried.append("ssh-agent at \(path) (not reachable)")
            return false
        }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>? = nil
        var offered = 0
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>? = nil
            guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { break }
            previous = identity
            offered += 1
            let rc = try core.retry(deadline) { libssh2_agent_userauth(agent, target.user, identity) }
            if rc == 0 { return true }
            let blob = Array(UnsafeBufferPointer(start: identity.pointee.blob, count: Int(identity.pointee.blob_len)))
            if HostKey(blob: blob)?.algorithm == "ssh-rsa" {
                rsaKeys.append("agent key '\(identity.pointee.comment.map { String(cString: $0) } ?? "?")'")
            }
        }
        tried.append("ssh-agent (\(offered) key\(offered == 1 ? "" : "s"))")
        return false
    }

    private func authenticateWithKeyFile(_ file: String, _ deadline: Deadline, tried: inout [String], rsaKeys: inout [String]) throws -> Bool {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ClusterupError.badInput("identity file cannot be read", at: file,
                                          hint: "check the path in ssh.identity_files (or IdentityFile in ~/.ssh/config) and its permissions")
        }
        let info = PrivateKeyInfo.inspect(text)
        if info.kind == .rsa { rsaKeys.append(file) }
        let passphrase = info.encrypted ? try Self.passphrase(for: file, env: target.passphraseEnv) : nil
        let publicFile = file + ".pub"
        let publicPath: String? = FileManager.default.isReadableFile(atPath: publicFile) ? publicFile : nil
        let user = target.user
        let rc = try core.retry(deadline) {
            libssh2_userauth_publickey_fromfile_ex(core.raw, user, UInt32(user.utf8.count), publicPath, file, passphrase)
        }
        if rc == 0 { return true }
        if rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED {
            if info.encrypted {
                throw ClusterupError.badInput("cannot decrypt identity file: wrong passphrase?", at: file,
                                              hint: target.passphraseEnv.map { "check $\($0)" } ?? "type the passphrase again")
            }
            tried.append("\(file) (libssh2 cannot load it: \(core.lastError))")
        } else {
            tried.append("\(file) (\(info.kind.rawValue) key, rejected)")
        }
        return false
    }

    /// The passphrase from the environment, else typed on the terminal without echo.
    static func passphrase(for file: String, env: String?) throws -> String {
        if let env, let value = ProcessInfo.processInfo.environment[env] { return value }
        guard let typed = readSecretFromTTY(prompt: "Enter passphrase for \(file): ") else {
            throw ClusterupError.badInput(
                "identity file is encrypted and there is no terminal to ask for its passphrase", at: file,
                hint: "set ssh.passphrase_env in the inventory to the name of an environment variable holding it"
                    + (env.map { " (currently $\($0), which is not set)" } ?? ""))
        }
        return typed
    }

    private static let ttyLock = NSLock()

    /// Reads one line from /dev/tty with echo off (what getpass(3) does, which is obsolete).
    /// Serialised: concurrent hosts must not prompt over each other.
    static func readSecretFromTTY(prompt: String) -> String? {
        ttyLock.lock()
        defer { ttyLock.unlock() }
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var saved = termios()
        let haveTermios = tcgetattr(fd, &saved) == 0
        if haveTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if haveTermios { tcsetattr(fd, TCSAFLUSH, &saved) }
            _ = write(fd, "\n", 1)
        }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }
}
