import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A node's root: an overlay over this machine's root or a cached image, with what no node may
/// read hidden in its upper layer, then personalised (host key, the lab's key, /etc/hosts).
extension LabController {
    /// Mounts and personalizes nodes in parallel.
    func prepare(_ nodes: [LabNode], store: StateStore) throws {
        guard let labKey = try? String(contentsOfFile: paths.publicKey, encoding: .utf8) else {
            throw ClusterupError.local("cannot read the lab's public key", at: paths.publicKey)
        }
        let hosts = LabFiles.hosts(state: store.state)
        let commands = self.commands, system = self.system
        let results = Blocking.forEach(nodes) { node in
            try Self.mountOverlay(node, commands: commands)
            try store.update { $0.mounts.append(node.rootDirectory) }
            let image = NodeImage(node: node, commands: commands, system: system)
            let hostKey = try image.personalize(labPublicKey: labKey, hosts: hosts)
            try store.updateNode(node.index) { $0.hostKey = hostKey }
        }
        try Self.firstFailure(results)
    }

    static func mountOverlay(_ node: LabNode, commands: HostCommands) throws {
        let fileManager = FileManager.default
        for directory in [node.upperDirectory, node.workDirectory, node.rootDirectory] {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o755])
        }
        try hideHostSecrets(upper: node.upperDirectory, lower: node.lower)
        try commands.check(
            "mount", ["-t", "overlay", "overlay", "-o",
                      "lowerdir=\(node.lower),upperdir=\(node.upperDirectory),workdir=\(node.workDirectory)", node.rootDirectory],
            what: "\(node.name): mounting its overlay")
        try recreateHiddenDirectories(root: node.rootDirectory)
    }

    /// Nodes see the host's disk through the overlay. What no node may read is taken out of its
    /// view in the upper layer before the overlay is mounted (overlayfs whiteouts and opaque
    /// directories): every lab's state (private keys) under /var/lib/clusterup, the host's users'
    /// homes and root's (keys, shells' history, caches), and the password hashes. A node over an
    /// image gets the same treatment of the image's files, so every node starts alike.
    static func hideHostSecrets(upper: String, lower: String = "/") throws {
        try whiteout("\(upper)/var/lib/clusterup")
        // Whited out here; `recreateHiddenDirectories` makes them anew in the mounted node, where
        // overlayfs marks a directory created over a whiteout opaque: the host's files stay hidden.
        for directory in hiddenDirectories.keys { try whiteout("\(upper)/\(directory)") }
        for file in ["shadow", "gshadow"] {
            let original = (lower as NSString).appendingPathComponent("etc/\(file)")
            guard let text = try? String(contentsOfFile: original, encoding: .utf8) else { continue }
            let path = "\(upper)/etc/\(file)"
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            try FileManager.default.createDirectory(atPath: "\(upper)/etc", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            try LabFiles.withoutPasswords(text).write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o640)
            var owner = stat()
            if stat(original, &owner) == 0 { chown(path, owner.st_uid, owner.st_gid) }
        }
    }

    static let hiddenDirectories: [String: Int] = ["root": 0o700, "home": 0o755]

    static func recreateHiddenDirectories(root: String) throws {
        for (directory, mode) in hiddenDirectories {
            let path = "\(root)/\(directory)"
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: mode])
        }
    }

    /// A character device 0/0 in the upper layer: the path does not exist in the node.
    static func whiteout(_ path: String) throws {
        var existing = stat()
        guard lstat(path, &existing) != 0 else { return }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        guard mknod(path, S_IFCHR, 0) == 0 else {
            throw ClusterupError.local("cannot hide \(path): \(String(cString: strerror(errno)))")
        }
    }
}
