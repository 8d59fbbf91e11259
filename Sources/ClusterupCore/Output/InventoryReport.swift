/// What `clusterup inventory check` prints: the resolved inventory as text or JSON.
public enum InventoryReport {
    /// Summary lines, then one table row per host.
    public static func text(_ inventory: Inventory, hosts: [InventoryHost]? = nil) -> String {
        let hosts = hosts ?? inventory.hosts
        var out = "inventory: \(inventory.path)\ncluster:   \(inventory.cluster)\n"
        if let vip = inventory.vip {
            out += "vip:       \(vip.address)/\(vip.prefix), load balancer port \(vip.port)"
            out += vip.dnsName.map { " (\($0))" } ?? ""
            out += "\n"
        }
        if let vrrp = inventory.vrrp {
            let priorities = inventory.vrrpPriorities.sorted { $0.value > $1.value }.map { "\($0.key)=\($0.value)" }
            out += "vrrp:      \(vrrp.backend.rawValue) on \(vrrp.interface ?? "-"), vrid \(vrrp.vrid), version \(vrrp.version)"
            out += ", advert \(vrrp.advertInterval.inventoryText)\(vrrp.unicast ? ", unicast" : "")"
            if !priorities.isEmpty { out += ", priorities \(priorities.joined(separator: " "))" }
            out += "\n"
        }
        out += "pki:       \(inventory.pki.directory) (\(inventory.pki.algorithm.rawValue))\n\n"
        let rows = hosts.map { host in
            [
                host.name, host.address, host.privateAddress,
                host.sortedRoles.map(\.rawValue).joined(separator: ","),
                host.ssh.user ?? "-", host.ssh.port.map(String.init) ?? "-", sudoText(host.ssh.sudo),
                host.ssh.bastion?.description ?? "-",
            ]
        }
        out += TextTable.render(
            header: ["NAME", "ADDRESS", "PRIVATE ADDRESS", "ROLES", "USER", "PORT", "SUDO", "BASTION"], rows: rows)
        if hosts.contains(where: { $0.ssh.user == nil || $0.ssh.port == nil }) {
            out += "(-: not set in the inventory; ~/.ssh/config applies, else your user name and port 22)\n"
        }
        return out
    }

    static func sudoText(_ sudo: Sudo) -> String {
        switch sudo {
        case .none: "no"
        case .passwordless: "yes"
        case .password(let env): "$\(env)"
        }
    }

    /// The whole resolved inventory as one JSON object.
    public static func json(_ inventory: Inventory, hosts: [InventoryHost]? = nil) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("path", .string(inventory.path)),
            ("cluster", .string(inventory.cluster)),
            ("ssh", json(inventory.ssh)),
            ("hosts", .array((hosts ?? inventory.hosts).map(json))),
        ]
        if let vip = inventory.vip { fields.append(("vip", json(vip))) }
        if let vrrp = inventory.vrrp { fields.append(("vrrp", json(vrrp, priorities: inventory.vrrpPriorities))) }
        fields.append(("pki", json(inventory.pki)))
        return .object(fields)
    }

    static func json(_ host: InventoryHost) -> JSONValue {
        .object([
            ("name", .string(host.name)),
            ("address", .string(host.address)),
            ("private_address", .string(host.privateAddress)),
            ("roles", .strings(host.sortedRoles.map(\.rawValue))),
            ("ssh", json(host.ssh)),
        ])
    }

    static func json(_ ssh: SSHSettings) -> JSONValue {
        let sudo: JSONValue = switch ssh.sudo {
        case .none: .bool(false)
        case .passwordless: .bool(true)
        case .password(let env): .object([("password_env", .string(env))])
        }
        let bastion: JSONValue = ssh.bastion.map { bastion in
            .object([
                ("host", .string(bastion.host)), ("port", .optional(bastion.port)), ("user", .optional(bastion.user)),
                ("identity_files", .strings(bastion.identityFiles)),
            ])
        } ?? .null
        return .object([
            ("user", .optional(ssh.user)),
            ("port", .optional(ssh.port)),
            ("identity_files", .strings(ssh.identityFiles)),
            ("agent", .bool(ssh.agent)),
            ("known_hosts", .optional(ssh.knownHosts)),
            ("passphrase_env", .optional(ssh.passphraseEnv)),
            ("password_env", .optional(ssh.passwordEnv)),
            ("sudo", sudo),
            ("bastion", bastion),
            ("connect_timeout", .string(ssh.connectTimeout.inventoryText)),
            ("command_timeout", .string(ssh.commandTimeout.inventoryText)),
            ("use_ssh_config", .bool(ssh.useSSHConfig)),
        ])
    }

    static func json(_ vip: VIPSettings) -> JSONValue {
        .object([
            ("address", .string(vip.address)), ("prefix", .optional(vip.prefix)), ("port", .optional(vip.port)),
            ("dns_name", .optional(vip.dnsName)),
        ])
    }

    static func json(_ vrrp: VRRPSettings, priorities: [String: Int]) -> JSONValue {
        // The password is a secret: say whether one is set, never print it.
        .object([
            ("backend", .string(vrrp.backend.rawValue)),
            ("interface", .optional(vrrp.interface)),
            ("vrid", .optional(vrrp.vrid)),
            ("version", .optional(vrrp.version)),
            ("advert_interval", .string(vrrp.advertInterval.inventoryText)),
            ("priorities", .object(priorities.sorted { $0.key < $1.key }.map { ($0.key, .optional($0.value)) })),
            ("preempt", .bool(vrrp.preempt)),
            ("preempt_delay", .string(vrrp.preemptDelay.inventoryText)),
            ("unicast", .bool(vrrp.unicast)),
            ("checksum", .string(vrrp.checksum.rawValue)),
            ("auth_password_set", .bool(vrrp.authPassword != nil)),
        ])
    }

    static func json(_ pki: PKISettings) -> JSONValue {
        .object([
            ("directory", .string(pki.directory)),
            ("algorithm", .string(pki.algorithm.rawValue)),
            ("ca_validity", .string(pki.caValidity.inventoryText)),
            ("leaf_validity", .string(pki.leafValidity.inventoryText)),
            ("renew_before", .string(pki.renewBefore.inventoryText)),
            ("cluster_domain", .string(pki.clusterDomain)),
            ("service_cidr", .string(pki.serviceCIDR)),
            ("extra_sans", .strings(pki.extraSANs)),
            ("external_ca", pki.externalCA.map { .object([("cert", .string($0.certificatePath)), ("key", .string($0.keyPath))]) } ?? .null),
        ])
    }
}
