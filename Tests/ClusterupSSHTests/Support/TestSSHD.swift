import Foundation
import Testing
@testable import ClusterupSSH

let isRoot = geteuid() == 0

struct ToolFailed: Error, CustomStringConvertible {
    var description: String
}

/// Runs a local tool to completion; throws with its stderr when it fails.
@discardableResult
func runTool(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailed(description: "\(path) \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
    }
    return String(decoding: output, as: UTF8.self)
}

/// A scratch directory (0700) with a client key pair and a known_hosts file, removed afterwards.
struct Lab {
    let dir: String
    var clientKey: String { dir + "/id_ed25519" }
    var knownHosts: String { dir + "/known_hosts" }

    static func with<T>(_ body: (Lab) throws -> T) throws -> T {
        var template = Array((FileManager.default.temporaryDirectory.path + "/cu-ssh-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw ToolFailed(description: "mkdtemp failed") }
        let lab = Lab(dir: String(cString: template))
        defer { try? FileManager.default.removeItem(atPath: lab.dir) }
        try lab.makeKey(lab.clientKey)
        FileManager.default.createFile(atPath: lab.knownHosts, contents: nil)
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
    func withSSHD<T>(authorizedKeys: [String]? = nil, extraConfig: String = "", _ body: (TestSSHD) throws -> T) throws -> T {
        let sshd = try TestSSHD.start(lab: self, authorizedKeys: authorizedKeys ?? [try publicKey(clientKey)], extraConfig: extraConfig)
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

/// A real OpenSSH server on 127.0.0.1 and a random high port, with its own host key and config,
/// run in the foreground (`-D -e`) so the test owns its pid and kills it afterwards.
final class TestSSHD {
    let dir: String
    let port: Int
    let process: Process
    var hostKeyPublic: String { dir + "/ssh_host_ed25519_key.pub" }

    private init(dir: String, port: Int, process: Process) {
        self.dir = dir
        self.port = port
        self.process = process
    }

    static func start(lab: Lab, authorizedKeys: [String], extraConfig: String) throws -> TestSSHD {
        // sshd insists on its privilege separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        var lastError = ""
        for _ in 0..<5 {
            let port = try freePort()
            let dir = lab.dir + "/sshd-\(port)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir + "/ssh_host_ed25519_key"])
            try authorizedKeys.joined(separator: "\n").write(toFile: dir + "/authorized_keys", atomically: true, encoding: .utf8)
            let config = """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(dir)/ssh_host_ed25519_key
                PidFile none
                UsePAM no
                StrictModes no
                AuthorizedKeysFile \(dir)/authorized_keys
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                Subsystem sftp /usr/lib/openssh/sftp-server
                LogLevel ERROR
                \(extraConfig)
                """
            try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/sshd")
            process.arguments = ["-D", "-e", "-f", dir + "/sshd_config"]
            FileManager.default.createFile(atPath: dir + "/sshd.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/sshd.log"))
            process.standardError = log
            process.standardOutput = log
            try process.run()
            let sshd = TestSSHD(dir: dir, port: port, process: process)
            if sshd.waitUntilListening() { return sshd }
            sshd.stop()
            lastError = (try? String(contentsOfFile: dir + "/sshd.log", encoding: .utf8)) ?? "?"
        }
        throw ToolFailed(description: "sshd did not start: \(lastError)")
    }

    private func waitUntilListening() -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && process.isRunning {
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
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
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
