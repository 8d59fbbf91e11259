import ClusterupCore
import Foundation

/// Makes a node's own identity in its overlay (hostname, machine-id, SSH host key, network,
/// enabled units). Writes go through the merged directory, so they land in the node's upper layer
/// and the host's files are never touched.
struct NodeImage {
    let node: LabNode
    let commands: HostCommands
    let system: HostSystem

    private var root: String { node.rootDirectory }

    /// Refuses to write unless the node's root is an overlay mount: a write into an unmounted
    /// directory would otherwise change nothing the node sees, and a path mistake could reach the host's /.
    func requireMounted() throws {
        // By device numbers, not /proc/self/mountinfo: a read of mountinfo can miss entries while
        // other nodes' overlays are being mounted at the same time.
        guard let rootIdentity = system.fileIdentity(root),
              let parentIdentity = system.fileIdentity((root as NSString).deletingLastPathComponent),
              rootIdentity.device != parentIdentity.device else {
            throw ClusterupError.local("\(root) is not an overlay mount; refusing to write the node's files",
                                       at: node.name)
        }
    }

    /// Writes everything and returns the node's SSH host public key (`ssh-ed25519 AAAA...`).
    func personalize(labPublicKey: String, hosts: String) throws -> String {
        try requireMounted()
        try writeFile("\(root)/etc/hostname", "\(node.name)\n")
        try writeFile("\(root)/etc/machine-id", Self.newMachineID() + "\n", mode: 0o444)
        try writeFile("\(root)/etc/hosts", hosts)
        try writeNetwork()
        try writeAuthorizedKeys(labPublicKey)
        try writeRootProfile()
        try trimPerLoginWork()
        try configureUnits()
        return try makeHostKey()
    }

    func writeHosts(_ hosts: String) throws {
        try requireMounted()
        try writeFile("\(root)/etc/hosts", hosts)
    }

    /// 128 random bits as 32 lowercase hex digits (machine-id(5)).
    static func newMachineID() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    private func writeNetwork() throws {
        let directory = "\(root)/etc/systemd/network"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Sorts before nspawn's own 80-container-host0.network (DHCP), so this one matches host0.
        try writeFile("\(directory)/10-clusterup-host0.network", LabFiles.hostInterfaceNetwork(address: node.address))
    }

    /// root's shell startup files as on a fresh Debian install of the node's release, not this
    /// machine's: sshd runs every command through them, and a developer's profile (pyenv, prompts)
    /// would slow every exec and make the node unlike the ones operators have.
    private func writeRootProfile() throws {
        for file in [".bashrc", ".profile"] {
            let skeleton = (node.lower as NSString).appendingPathComponent("etc/skel/\(file)")
            let text = (try? String(contentsOfFile: skeleton, encoding: .utf8)) ?? ""
            try writeFile("\(root)/root/\(file)", text, mode: 0o644)
        }
    }

    /// Two things a stock Debian node does for every SSH login that a lab node skips, because 20
    /// nodes share this machine's 2 cores and the exec benchmark measures logins (README, "Lab"):
    /// - root's systemd user manager lingers, so a login never waits for user@0.service to start
    ///   (logind stops it 10 s after the last session, so a real node pays that once per idle spell);
    /// - sshd's PAM stack does not run the motd scripts (/etc/update-motd.d: 5 processes per login),
    ///   whose text sshd shows only on interactive terminals anyway.
    private func trimPerLoginWork() throws {
        let lingerDirectory = "\(root)/var/lib/systemd/linger"
        try FileManager.default.createDirectory(atPath: lingerDirectory, withIntermediateDirectories: true)
        try writeFile("\(lingerDirectory)/root", "", mode: 0o644)
        let pam = "\(root)/etc/pam.d/sshd"
        if let text = try? String(contentsOfFile: pam, encoding: .utf8) {
            try writeFile(pam, LabFiles.sshdPAMWithoutMotd(text), mode: 0o644)
        }
    }

    private func writeAuthorizedKeys(_ publicKey: String) throws {
        let directory = "\(root)/root/.ssh"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try writeFile("\(directory)/authorized_keys", publicKey.hasSuffix("\n") ? publicKey : publicKey + "\n",
                      mode: 0o600)
    }

    /// Disables everything the host enabled except sshd, enables systemd-networkd, and drops the
    /// SysV start links (LSB-only services such as ipvsadm would start otherwise).
    private func configureUnits() throws {
        let fileManager = FileManager.default
        let unitDirectory = "\(root)/etc/systemd/system"
        let entries = (try? fileManager.contentsOfDirectory(atPath: unitDirectory)) ?? []
        var disabled: Set<String> = []
        for wants in entries where wants.hasSuffix(".wants") {
            let directory = "\(unitDirectory)/\(wants)"
            for unit in (try? fileManager.contentsOfDirectory(atPath: directory)) ?? []
            where !LabFiles.unitsKeptEnabled.contains(unit) {
                try fileManager.removeItem(atPath: "\(directory)/\(unit)")
                disabled.insert(unit)
            }
        }
        // Aliases of disabled units (etcd2.service -> etcd.service) would still report them enabled.
        for entry in entries {
            let path = "\(unitDirectory)/\(entry)"
            if let target = try? fileManager.destinationOfSymbolicLink(atPath: path),
               disabled.contains((target as NSString).lastPathComponent) {
                try fileManager.removeItem(atPath: path)
            }
        }
        try enable("ssh.service", in: "multi-user.target.wants")
        try enable("systemd-networkd.service", in: "multi-user.target.wants")
        try enable("systemd-networkd.socket", in: "sockets.target.wants")
        for level in 2...5 {
            let directory = "\(root)/etc/rc\(level).d"
            for link in (try? fileManager.contentsOfDirectory(atPath: directory)) ?? [] where link.hasPrefix("S") {
                try fileManager.removeItem(atPath: "\(directory)/\(link)")
            }
        }
    }

    private func enable(_ unit: String, in wants: String) throws {
        let directory = "\(root)/etc/systemd/system/\(wants)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let link = "\(directory)/\(unit)"
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != nil { return }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/lib/systemd/system/\(unit)")
    }

    /// A fresh ed25519 host key; the host's own keys are removed so the node serves only its own.
    private func makeHostKey() throws -> String {
        let directory = "\(root)/etc/ssh"
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasPrefix("ssh_host_") {
            try FileManager.default.removeItem(atPath: "\(directory)/\(file)")
        }
        let keyFile = "\(directory)/ssh_host_ed25519_key"
        try commands.check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "root@\(node.name)", "-f", keyFile],
                           what: "\(node.name): making its SSH host key")
        guard let line = try? String(contentsOfFile: "\(keyFile).pub", encoding: .utf8),
              let key = LabFiles.publicKeyWithoutComment(line) else {
            throw ClusterupError.local("cannot read the host key just made", at: "\(keyFile).pub")
        }
        return key
    }
}
