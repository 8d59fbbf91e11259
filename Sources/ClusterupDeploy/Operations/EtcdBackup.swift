import ClusterupNodes
import ClusterupSSH
import ClusterupCore
import Foundation

/// `clusterup etcd backup`: a snapshot taken on a healthy member, kept there in the backup
/// directory and copied to this machine with its sha256 checked end to end.
public enum EtcdBackup {
    public struct Result: Sendable {
        public var member: String
        public var remotePath: String
        public var localPath: String
        public var sha256: String
        public var bytes: Int
        public var revision: Int64?
    }

    /// `snapshot status -w json`: {"hash":…,"revision":…,"totalKey":…,"totalSize":…}
    static func parseRevision(_ json: String) -> Int64? {
        struct Status: Decodable { var revision: Int64 }
        guard let start = json.firstIndex(of: "{") else { return nil }
        return try? JSONDecoder().decode(Status.self, from: Data(json[start...].utf8)).revision
    }

    public static func run(
        inventory: Inventory, settings: DeploySettings, sessions: HostSessions, outputDirectory: String, now: Date = Date()
    ) async throws -> Result {
        let etcdHosts = inventory.hosts(withRole: .etcd)
        guard !etcdHosts.isEmpty else {
            throw ClusterupError.badInput("the inventory has no etcd hosts", at: inventory.path, hint: "give hosts the etcd role")
        }
        let directory = try prepareDirectory(outputDirectory)
        let etcdctl = etcdctlPath(settings)
        let name = "etcd-\(inventory.cluster)-\(Reset.timestamp(now)).db"
        let remoteDir = settings.etcd.backupDirectory
        var tried: [String] = []
        for host in etcdHosts {
            let results = await sessions.run([host], step: "snapshot") { host, connection, reporter in
                let endpoint = EtcdPeer(name: host.name, address: host.privateAddress).clientURL
                _ = try connection.checkedOutput(Etcdctl.command(etcdctl, "endpoint health", endpoints: endpoint), timeout: 20)
                let remote = "\(remoteDir)/\(name)"
                let output = try connection.checkedOutput(
                    "install -d -m 0700 \(shellQuote(remoteDir)) && " + Etcdctl.command(etcdctl, "snapshot save \(shellQuote(remote))", endpoints: endpoint)
                        + " >/dev/null && chmod 0600 \(shellQuote(remote)) && sha256sum \(shellQuote(remote)) | cut -d' ' -f1 && ETCDCTL_API=3 \(shellQuote(etcdctl)) snapshot status -w json \(shellQuote(remote))",
                    timeout: 300)
                let lines = output.split(separator: "\n").map(String.init)
                guard let remoteSHA = lines.first, remoteSHA.count == 64 else {
                    throw ClusterupError.remote("unexpected output from snapshot save: \(output.prefix(200))", host: host.name)
                }
                reporter.step("downloading")
                let bytes = try connection.run("cat \(shellQuote(remote))", sudo: true, timeout: 600)
                guard bytes.succeeded else {
                    throw ClusterupError.remote("cannot read \(remote): \(bytes.stderrText)", host: host.name)
                }
                let localSHA = sha256Hex(bytes.stdout)
                guard localSHA == remoteSHA else {
                    throw ClusterupError.remote("the downloaded snapshot's sha256 \(localSHA) differs from the node's \(remoteSHA)", host: host.name,
                                                hint: "run the backup again; the snapshot on the node is \(remote)")
                }
                return (remote, bytes.stdout, remoteSHA, parseRevision(lines.dropFirst().joined(separator: "\n")))
            }
            guard let result = results.first else { continue }
            switch result.outcome {
            case .success(let (remote, bytes, sha, revision)):
                let local = directory + "/" + name
                try writePrivate(bytes, to: local)
                try writePrivate(Array("\(sha)  \(name)\n".utf8), to: local + ".sha256")
                return Result(member: host.name, remotePath: remote, localPath: local, sha256: sha, bytes: bytes.count, revision: revision)
            case .failure(let error):
                tried.append("\(host.name): \(describe(error))")
            }
        }
        throw ClusterupError.remote(
            "no etcd member could take a snapshot:\n  " + tried.joined(separator: "\n  "),
            hint: "check `clusterup status`; a snapshot needs one healthy member")
    }

    /// Creates the directory 0700 (snapshots hold every secret in the cluster) or checks that an
    /// existing one is not readable by others.
    static func prepareDirectory(_ path: String) throws -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ClusterupError.badInput("\(url.path) is not a directory", at: "--output-dir")
            }
            let mode = (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? 0
            if mode & 0o077 != 0 {
                throw ClusterupError.badInput(
                    "\(url.path) is accessible to other users (mode \(String(mode, radix: 8))); etcd snapshots contain every secret of the cluster",
                    at: "--output-dir", hint: "chmod 700 \(url.path), or choose another directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ClusterupError.local("cannot create \(url.path): \(error.localizedDescription)", at: "--output-dir")
            }
        }
        return url.path
    }

    static func writePrivate(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw ClusterupError.local("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw ClusterupError.local("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += written
        }
        guard fsync(fd) == 0 else { throw ClusterupError.local("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}
