import Foundation
import Testing
@testable import ClusterupSSH
import TestSupport

extension Trait where Self == ConditionTrait {
    /// The suites that run real sshd processes on 127.0.0.1 (as root: host keys, sshd's privilege separation).
    static var startsSSHD: Self { .requiresRoot("starts real sshd processes on 127.0.0.1") }
}

struct ToolFailed: Error, CustomStringConvertible {
    var description: String
}

/// Starts a program (TestSupport's `SpawnedProcess`: posix_spawn, stdin from /dev/null, a clean
/// signal mask), stdout and stderr to files; `environment` is added to the tests' own. Kept by pid:
/// the sshd tests reap and kill by pid.
func spawn(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
           stdout: String = "/dev/null", stderr: String = "/dev/null") throws -> pid_t {
    try SpawnedProcess(path, arguments, environment: ProcessInfo.processInfo.environment.merging(environment ?? [:]) { $1 },
                       stdout: stdout, stderr: stderr).processIdentifier
}

/// Waits for a child we spawned; returns its exit status (128+signal if killed).
@discardableResult
func reap(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Runs a local tool to completion; throws with its stderr when it fails.
@discardableResult
func runTool(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    try ProcessRunner.run(path, arguments, environment: ProcessInfo.processInfo.environment.merging(environment ?? [:]) { $1 })
        .check("\(path) \(arguments.joined(separator: " "))").stdout
}

/// A scratch directory (0700) with a client key pair and a known_hosts file, removed afterwards.
struct Lab {
    let dir: String
    var clientKey: String { dir + "/id_ed25519" }
    var knownHosts: String { dir + "/known_hosts" }

    static func with<T>(_ body: (Lab) throws -> T) throws -> T {
        var template = Array((FileManager.default.temporaryDirectory.path + "/cu-ssh-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw ToolFailed(description: "mkdtemp failed") }
        let lab = Lab(dir: String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        defer { try? FileManager.default.removeItem(atPath: lab.dir) }
        try lab.makeKey(lab.clientKey)
        _ = FileManager.default.createFile(atPath: lab.knownHosts, contents: nil)
        return try body(lab)
    }

    func makeKey(_ path: String, type: String = "ed25519", passphrase: String = "") throws {
        try runTool("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", "clusterup-test", "-f", path]
                    + (type == "rsa" ? ["-b", "2048"] : []))
    }

    func publicKey(_ privateKeyPath: String) throws -> String {
        try String(contentsOfFile: privateKeyPath + ".pub", encoding: .utf8)
    }

    /// Starts an sshd that accepts `authorizedKeys` (default: the lab's client key); always stopped.
    func withSSHD<T>(authorizedKeys: [String]? = nil, extraConfig: String = "", hostKeyTypes: [String] = ["ed25519"],
                     users: [TestUser] = [], _ body: (TestSSHD) throws -> T) throws -> T {
        let sshd = try TestSSHD.start(lab: self, authorizedKeys: authorizedKeys ?? [try publicKey(clientKey)],
                                      extraConfig: extraConfig, hostKeyTypes: hostKeyTypes, users: users)
        defer { sshd.stop() }
        return try body(sshd)
    }

    /// Records `sshd`'s real host key in the lab's known_hosts, as `lab up` would.
    func trust(_ sshd: TestSSHD) throws {
        let fields = try String(contentsOfFile: sshd.hostKeyPublic, encoding: .utf8).split(separator: " ")
        let line = "[127.0.0.1]:\(sshd.port) \(fields[0]) \(fields[1])\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: knownHosts))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
        try handle.close()
    }

    func target(_ sshd: TestSSHD, identityFiles: [String]? = nil, acceptNew: Bool = false,
                jumps: [SSHTarget] = [], commandTimeout: Double = 10) -> SSHTarget {
        SSHTarget(name: "sshd-\(sshd.port)", address: "127.0.0.1", port: sshd.port, user: "root",
                  identityFiles: identityFiles ?? [clientKey], useAgent: false, knownHostsFiles: [knownHosts],
                  acceptNewHostKeys: acceptNew, jumps: jumps, connectTimeout: 5, commandTimeout: commandTimeout)
    }
}

/// A login user that exists only for one sshd: it runs in its own mount namespace where copies of
/// /etc/passwd, /etc/shadow and /etc/sudoers with the extra lines are bind-mounted, so the host's
/// real files are never touched and nothing is left behind.
struct TestUser {
    var name: String
    var uid: Int
    /// sudoers rule after `name ALL=(ALL)`, e.g. "NOPASSWD: ALL"; nil for no sudo at all.
    var sudo: String?
    /// crypt(3) hash for /etc/shadow; "*" means no password (but not locked).
    var passwordHash = "*"

    static func bindMountScript(_ users: [TestUser], dir: String) throws -> String {
        var script = ""
        for (file, line) in [
            ("passwd", { (u: TestUser) in "\(u.name):x:\(u.uid):65534::/:/bin/sh" }),
            ("shadow", { (u: TestUser) in "\(u.name):\(u.passwordHash):19000:0:99999:7:::" }),
            ("sudoers", { (u: TestUser) in u.sudo.map { "\(u.name) ALL=(ALL) \($0)" } ?? "" }),
        ] as [(String, (TestUser) -> String)] {
            let copy = dir + "/etc-" + file
            let original = try String(contentsOfFile: "/etc/" + file, encoding: .utf8)
            try (original + (original.hasSuffix("\n") ? "" : "\n") + users.map(line).joined(separator: "\n") + "\n")
                .write(toFile: copy, atomically: true, encoding: .utf8)
            chmod(copy, file == "passwd" ? 0o644 : file == "shadow" ? 0o640 : 0o440)
            script += "mount --bind \(Shell.quote(copy)) /etc/\(file) && "
        }
        return script
    }
}

/// The usual test setup: a lab, an sshd whose key is trusted, and a connection to it as root.
func withConnection<T>(_ body: (Lab, TestSSHD, SSHConnection) throws -> T) throws -> T {
    try Lab.with { lab in
        try lab.withSSHD { sshd in
            try lab.trust(sshd)
            let connection = try SSHConnection.connect(lab.target(sshd))
            defer { connection.close() }
            return try body(lab, sshd, connection)
        }
    }
}

/// A real OpenSSH server on 127.0.0.1 and a random high port, with its own host key and config,
/// run in the foreground (`-D -e`) so the test owns its pid and kills it afterwards.
final class TestSSHD {
    let dir: String
    let port: Int
    let pid: pid_t
    private var stopped = false
    var hostKeyPublic: String { dir + "/ssh_host_ed25519_key.pub" }

    private init(dir: String, port: Int, pid: pid_t) {
        self.dir = dir
        self.port = port
        self.pid = pid
    }

    /// Reaps it if it died, so that `stop` never signals a recycled pid.
    private var isRunning: Bool {
        var status: Int32 = 0
        if !stopped && waitpid(pid, &status, WNOHANG) == pid { stopped = true }
        return !stopped
    }

    /// The first of `hostKeyTypes` is the one `hostKeyPublic` names (ed25519 unless told otherwise).
    static func start(lab: Lab, authorizedKeys: [String], extraConfig: String, hostKeyTypes: [String],
                      users: [TestUser]) throws -> TestSSHD {
        // sshd insists on its privilege separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        var lastError = ""
        for _ in 0..<5 {
            let port = try freePort()
            let dir = lab.dir + "/sshd-\(port)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for type in hostKeyTypes {
                try runTool("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-f", dir + "/ssh_host_\(type)_key"])
            }
            try authorizedKeys.joined(separator: "\n").write(toFile: dir + "/authorized_keys", atomically: true, encoding: .utf8)
            // sshd keeps the first value it reads, so the test's own settings come first.
            let config = """
                \(extraConfig)
                Port \(port)
                ListenAddress 127.0.0.1
                \(hostKeyTypes.map { "HostKey \(dir)/ssh_host_\($0)_key" }.joined(separator: "\n"))
                PidFile none
                UsePAM no
                StrictModes no
                AuthorizedKeysFile \(dir)/authorized_keys
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                Subsystem sftp /usr/lib/openssh/sftp-server
                LogLevel ERROR
                """
            try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
            let sshdCommand = ["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"]
            let pid: pid_t
            if users.isEmpty {
                pid = try spawn(sshdCommand[0], Array(sshdCommand.dropFirst()), stdout: dir + "/sshd.log", stderr: dir + "/sshd.log")
            } else {
                // sshd reads authorized_keys as the login user: let it traverse (not list) the lab.
                chmod(lab.dir, 0o711)
                let script = try TestUser.bindMountScript(users, dir: dir) + "exec " + Shell.quote(sshdCommand)
                pid = try spawn("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
                                stdout: dir + "/sshd.log", stderr: dir + "/sshd.log")
            }
            let sshd = TestSSHD(dir: dir, port: port, pid: pid)
            if sshd.waitUntilListening() { return sshd }
            sshd.stop()
            lastError = (try? String(contentsOfFile: dir + "/sshd.log", encoding: .utf8)) ?? "?"
        }
        throw ToolFailed(description: "sshd did not start: \(lastError)")
    }

    private func waitUntilListening() -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && isRunning {
            if (try? connectOnce()) == true { return true }
            usleep(10_000)
        }
        return false
    }

    private func connectOnce() throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Kills the sshd we started, by its pid.
    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGTERM)
        reap(pid)
    }

    var log: String { (try? String(contentsOfFile: dir + "/sshd.log", encoding: .utf8)) ?? "" }
}

/// A port nobody listens on right now (bound to 0, read back, released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw ToolFailed(description: "cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
