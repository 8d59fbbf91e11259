import ClusterupCore

extension SSHTargetSpec {
    /// What the inventory says about reaching `host` (its overrides already merged), with nil for
    /// what it leaves to ~/.ssh/config and OpenSSH's defaults.
    public init(host: InventoryHost, acceptNewHostKeys: Bool) {
        let ssh = host.ssh
        self.init(
            name: host.name, address: host.address, user: ssh.user, port: ssh.port,
            identityFiles: ssh.identityFiles.isEmpty ? nil : ssh.identityFiles,
            useAgent: ssh.agent, knownHostsFile: ssh.knownHosts,
            passphraseEnv: ssh.passphraseEnv, passwordEnv: ssh.passwordEnv, sudo: ssh.sudo,
            bastion: ssh.bastion.map { bastion in
                [SSHJumpSpec(host: bastion.host, port: bastion.port, user: bastion.user,
                             identityFiles: bastion.identityFiles.isEmpty ? nil : bastion.identityFiles)]
            },
            connectTimeout: ssh.connectTimeout.totalSeconds, commandTimeout: ssh.commandTimeout.totalSeconds,
            useSSHConfig: ssh.useSSHConfig, acceptNewHostKeys: acceptNewHostKeys)
    }
}

/// Opens connections to inventory hosts: resolves each against ~/.ssh/config once, then connects.
/// `connect` blocks: call it from a FanOut operation (a dedicated thread), never from async code.
public struct HostConnector: Sendable {
    public var sshConfig: SSHConfig
    public var acceptNewHostKeys: Bool

    public init(sshConfig: SSHConfig, acceptNewHostKeys: Bool) {
        self.sshConfig = sshConfig
        self.acceptNewHostKeys = acceptNewHostKeys
    }

    /// Reads ~/.ssh/config (when any host wants it).
    public static func load(for inventory: Inventory, acceptNewHostKeys: Bool) throws -> HostConnector {
        let config = inventory.hosts.contains { $0.ssh.useSSHConfig } ? try SSHConfig.load() : .empty
        return HostConnector(sshConfig: config, acceptNewHostKeys: acceptNewHostKeys)
    }

    public func target(for host: InventoryHost) throws -> SSHTarget {
        try sshConfig.resolve(SSHTargetSpec(host: host, acceptNewHostKeys: acceptNewHostKeys))
    }

    public func connect(_ host: InventoryHost) throws -> SSHConnection {
        try SSHConnection.connect(target(for: host))
    }
}
