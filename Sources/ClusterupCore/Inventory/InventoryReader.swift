import Foundation
import VRRPConfig
import Yams

/// Turns the composed YAML tree into an `Inventory`, checking every field where it is read so errors
/// point at the exact node. Cross-field checks (duplicates, VRRP against hosts) run after all hosts are read.
struct InventoryReader {
    let file: String
    /// Directory of the inventory; relative paths are resolved against it.
    let directory: String
    let homeDirectory: String

    static let topLevelKeys = ["cluster", "ssh", "hosts", "vip", "vrrp", "pki"] + deployKeys
    static let sshKeys = [
        "user", "port", "identity_files", "agent", "known_hosts", "passphrase_env", "password_env", "sudo",
        "bastion", "connect_timeout", "command_timeout", "use_ssh_config",
    ]
    static let hostKeys = ["name", "address", "private_address", "roles", "ssh"]

    /// Where each host was read, for messages that name two entries.
    private struct HostEntry {
        var host: InventoryHost
        var index: Int
        var nameField: YAMLField
        var addressField: YAMLField
        var privateAddressField: YAMLField?
        var rolesField: YAMLField
    }

    func read(_ node: Node, path: String) throws(ClusterupError) -> Inventory {
        let root = YAMLField(node: node, path: "", file: file)
        let top = try root.mapping(allowed: Self.topLevelKeys)

        let clusterField = try top.required("cluster")
        let cluster = try clusterField.string()
        guard Self.isClusterName(cluster) else {
            throw clusterField.error(
                "invalid cluster name '\(cluster)'",
                hint: "use lower-case letters, digits and inner hyphens, at most 40 characters (e.g. 'prod-eu1')")
        }

        let defaults = try top["ssh"].map { field throws(ClusterupError) in try readSSH(field, over: SSHSettings()) }
            ?? SSHSettings()

        let hostsField = try top.required("hosts")
        let hostFields = try hostsField.sequence()
        guard !hostFields.isEmpty else {
            throw hostsField.error("needs at least one host", hint: "add entries like '- {name: node1, address: 198.51.100.11, roles: [etcd, control-plane, lb]}'")
        }
        var entries: [HostEntry] = []
        for (index, field) in hostFields.enumerated() {
            entries.append(try readHost(field, index: index, defaults: defaults))
        }
        try checkUnique(entries)
        let hosts = entries.map(\.host)

        let vip = try top["vip"].map { field throws(ClusterupError) in try readVIP(field) }
        let vrrp = try top["vrrp"].map { field throws(ClusterupError) in try readVRRP(field) }
        let pki = try readPKI(top["pki"], cluster: cluster)

        var inventory = Inventory(path: path, cluster: cluster, ssh: defaults, hosts: hosts, vip: vip, vrrp: vrrp, pki: pki)
        inventory.deploy = try readDeploy(top)
        try checkVRRP(&inventory, top: top, entries: entries)
        try checkVIP(inventory, top: top, entries: entries)
        return inventory
    }

    static func isClusterName(_ name: String) -> Bool {
        (1...40).contains(name.count)
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
            && name.first != "-" && name.last != "-"
    }

    static func isHostName(_ name: String) -> Bool {
        (1...253).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    // MARK: Hosts

    private func readHost(_ field: YAMLField, index: Int, defaults: SSHSettings) throws(ClusterupError) -> HostEntry {
        var field = field
        // Name the host in every message about this entry, even one about a key before 'name'.
        if case .mapping(let mapping) = field.node, let name = mapping["name"]?.string { field.host = name }
        let entry = try field.mapping(allowed: Self.hostKeys)
        let nameField = try entry.required("name")
        let name = try nameField.string()
        guard Self.isHostName(name) else {
            throw nameField.error("invalid host name '\(name)'", hint: "use letters, digits, '.' and '-' (e.g. node1)")
        }

        let addressField = try entry.required("address")
        let address = try readAddress(addressField)
        let privateAddressField = entry["private_address"]
        let privateAddress = try privateAddressField.map { field throws(ClusterupError) in try readAddress(field) }

        let rolesField = try entry.required("roles")
        var roles = Set<Role>()
        let roleItems = try rolesField.sequence()
        guard !roleItems.isEmpty else {
            throw rolesField.error("needs at least one role", hint: "roles are \(Role.names.joined(separator: ", "))")
        }
        for item in roleItems {
            let text = try item.string()
            guard let role = Role(rawValue: text) else {
                throw item.error("unknown role '\(text)'", hint: suggestion(for: text, among: Role.names, listing: "roles"))
            }
            roles.insert(role)
        }

        let ssh = try entry["ssh"].map { field throws(ClusterupError) in try readSSH(field, over: defaults) } ?? defaults
        let host = InventoryHost(name: name, address: address, privateAddress: privateAddress, roles: roles, ssh: ssh)
        return HostEntry(
            host: host, index: index, nameField: nameField, addressField: addressField,
            privateAddressField: privateAddressField, rolesField: rolesField)
    }

    private func readAddress(_ field: YAMLField) throws(ClusterupError) -> String {
        let text = try field.string()
        if text.hasPrefix("["), text.hasSuffix("]"), NetworkAddress(ipLiteral: String(text.dropFirst().dropLast())) != nil {
            throw field.error("write the IPv6 address '\(text)' without brackets", hint: "e.g. 2001:db8::11")
        }
        guard NetworkAddress(text) != nil else {
            throw field.error(
                "'\(text)' is not an IPv4 or IPv6 address or a DNS name",
                hint: "e.g. 198.51.100.11, 2001:db8::11 or node1.example.internal; the port goes in 'ssh: {port: ...}'")
        }
        return text
    }

    /// Duplicate names or addresses are reported naming both entries, each with its line.
    private func checkUnique(_ entries: [HostEntry]) throws(ClusterupError) {
        var names: [String: HostEntry] = [:]
        var addresses: [NetworkAddress: (entry: HostEntry, field: YAMLField, key: String)] = [:]
        for entry in entries {
            // These messages name both hosts themselves.
            var nameField = entry.nameField
            nameField.host = nil
            if let first = names[entry.host.name] {
                throw nameField.error(
                    "duplicate host name '\(entry.host.name)': hosts[\(first.index)] at \(first.nameField.location) and hosts[\(entry.index)] at \(entry.nameField.location) both use it",
                    hint: "host names must be unique; rename one of them")
            }
            names[entry.host.name] = entry

            var seenHere = Set<NetworkAddress>()
            let pairs: [(YAMLField, String, String)] = [(entry.addressField, "address", entry.host.address)]
                + (entry.privateAddressField.map { [($0, "private_address", entry.host.privateAddress)] } ?? [])
            for (field, key, text) in pairs {
                guard let address = NetworkAddress(text), seenHere.insert(address).inserted else { continue }
                if let first = addresses[address] {
                    var field = field
                    field.host = nil
                    throw field.error(
                        "duplicate address '\(text)': hosts[\(first.entry.index)].\(first.key) (host \(first.entry.host.name)) at \(first.field.location) and hosts[\(entry.index)].\(key) (host \(entry.host.name)) at \(field.location) both use it",
                        hint: "every host needs its own address; fix the one that was copied")
                }
                addresses[address] = (entry, field, key)
            }
        }
    }

    // MARK: SSH

    /// Reads an `ssh:` mapping, overriding only the keys it sets on top of `base`.
    private func readSSH(_ field: YAMLField, over base: SSHSettings) throws(ClusterupError) -> SSHSettings {
        let mapping = try field.mapping(allowed: Self.sshKeys)
        var ssh = base
        if let user = mapping["user"] { ssh.user = try readUser(user) }
        if let port = mapping["port"] { ssh.port = try port.int(in: 1...65535, what: "a port") }
        if let files = mapping["identity_files"] { ssh.identityFiles = try readIdentityFiles(files) }
        if let agent = mapping["agent"] { ssh.agent = try agent.bool() }
        if let knownHosts = mapping["known_hosts"] { ssh.knownHosts = resolve(try knownHosts.nonEmptyString()) }
        if let env = mapping["passphrase_env"] { ssh.passphraseEnv = try readEnvironmentName(env) }
        if let env = mapping["password_env"] { ssh.passwordEnv = try readEnvironmentName(env) }
        if let sudo = mapping["sudo"] { ssh.sudo = try readSudo(sudo) }
        if let bastion = mapping["bastion"] { ssh.bastion = try readBastion(bastion) }
        if let timeout = mapping["connect_timeout"] { ssh.connectTimeout = try positive(timeout.seconds(), timeout) }
        if let timeout = mapping["command_timeout"] { ssh.commandTimeout = try positive(timeout.seconds(), timeout) }
        if let use = mapping["use_ssh_config"] { ssh.useSSHConfig = try use.bool() }
        return ssh
    }

    private func positive(_ duration: Duration, _ field: YAMLField) throws(ClusterupError) -> Duration {
        guard duration > .zero else { throw field.error("must be greater than zero") }
        return duration
    }

    private func readUser(_ field: YAMLField) throws(ClusterupError) -> String {
        let user = try field.nonEmptyString()
        guard !user.contains(where: { $0.isWhitespace || $0 == "@" || $0 == ":" }) else {
            throw field.error("invalid user name '\(user)'", hint: "just the login name, e.g. admin")
        }
        return user
    }

    private func readEnvironmentName(_ field: YAMLField) throws(ClusterupError) -> String {
        let name = try field.string()
        guard Self.isEnvironmentName(name) else {
            throw field.error(
                "'\(name)' is not an environment variable name",
                hint: "name the variable that holds the secret (e.g. SUDO_PASSWORD), never the secret itself")
        }
        return name
    }

    private func readIdentityFiles(_ field: YAMLField) throws(ClusterupError) -> [String] {
        var files: [String] = []
        for item in try field.sequence() {
            let path = resolve(try item.nonEmptyString())
            try checkReadable(path, item, what: "identity file",
                              hint: "create it (ssh-keygen -t ed25519 -f \(path)), fix the path (relative paths are relative to the inventory's directory), or remove it to use ssh-agent and ~/.ssh/config")
            try checkPrivate(path, item)
            files.append(path)
        }
        return files
    }

    /// Private keys and CA files must be readable now, not halfway through a deploy.
    func checkReadable(_ path: String, _ field: YAMLField, what: String, hint: String) throws(ClusterupError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw field.error("cannot read \(what) \(path): no such file", hint: hint)
        }
        guard !isDirectory.boolValue else { throw field.error("\(what) \(path) is a directory", hint: hint) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw field.error("cannot read \(what) \(path): \(reason)",
                              hint: "make it readable by the user running clusterup (chmod 600 \(path) for a private key)")
        }
        close(fd)
    }

    /// OpenSSH refuses private keys others can read; say so here rather than fail on every host later.
    private func checkPrivate(_ path: String, _ field: YAMLField) throws(ClusterupError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw field.error(
                "identity file \(path) is accessible by others (mode \(String(mode, radix: 8))); OpenSSH refuses such keys",
                hint: "chmod 600 \(path)")
        }
    }

    private func readSudo(_ field: YAMLField) throws(ClusterupError) -> Sudo {
        if case .mapping = field.node {
            let mapping = try field.mapping(allowed: ["password_env"])
            return .password(env: try readEnvironmentName(try mapping.required("password_env")))
        }
        do {
            return try field.bool() ? .passwordless : .none
        } catch {
            throw field.error("expected false, true or {password_env: VAR}",
                              hint: "true means passwordless sudo; {password_env: SUDO_PASSWORD} reads the password from that variable")
        }
    }

    private func readBastion(_ field: YAMLField) throws(ClusterupError) -> Bastion? {
        switch field.node {
        case .mapping:
            let mapping = try field.mapping(allowed: ["host", "port", "user", "identity_files"])
            let hostField = try mapping.required("host")
            return Bastion(
                host: try readAddress(hostField),
                port: try mapping["port"].map { field throws(ClusterupError) in try field.int(in: 1...65535, what: "a port") },
                user: try mapping["user"].map { field throws(ClusterupError) in try readUser(field) },
                identityFiles: try mapping["identity_files"].map { field throws(ClusterupError) in try readIdentityFiles(field) } ?? [])
        default:
            // `bastion: false` on a host turns off a bastion set in the defaults.
            if (try? field.bool()) == false { return nil }
            let text = try field.nonEmptyString()
            guard let bastion = Self.parseBastion(text) else {
                throw field.error("invalid bastion '\(text)'",
                                  hint: "write user@host:port (user and port optional), or a mapping {host, port, user, identity_files}")
            }
            return bastion
        }
    }

    /// `[user@]host[:port]`, with `[v6]:port` for IPv6.
    static func parseBastion(_ text: String) -> Bastion? {
        var rest = Substring(text)
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            guard let user, !user.isEmpty, !user.contains(where: \.isWhitespace) else { return nil }
        }
        var host = String(rest), port: Int?
        if let split = splitHostPort(String(rest)) {
            (host, port) = (split.host, split.port)
        } else if rest.hasPrefix("[") || (rest.contains(":") && NetworkAddress(ipLiteral: String(rest)) == nil) {
            return nil
        }
        guard NetworkAddress(host) != nil else { return nil }
        return Bastion(host: host, port: port, user: user)
    }

    // MARK: VIP

    private func readVIP(_ field: YAMLField) throws(ClusterupError) -> VIPSettings {
        let mapping = try field.mapping(allowed: ["address", "prefix", "port", "dns_name"])
        let addressField = try mapping.required("address")
        let text = try addressField.string()
        guard let address = NetworkAddress(ipLiteral: text) else {
            throw addressField.error("the VIP must be an IPv4 or IPv6 address, got '\(text)'",
                                     hint: "pick a free address on the lb hosts' subnet; put a DNS name in 'dns_name'")
        }
        let prefix = try mapping["prefix"].map { field throws(ClusterupError) in
            try field.int(in: 1...(address.isIPv6 ? 128 : 32), what: "a prefix length")
        }
        let port = try mapping["port"].map { field throws(ClusterupError) in try field.int(in: 1...65535, what: "a port") }
        var dnsName: String?
        if let nameField = mapping["dns_name"] {
            let name = try nameField.string()
            guard NetworkAddress.isDNSName(name) else {
                throw nameField.error("'\(name)' is not a DNS name", hint: "e.g. k8s.example.internal")
            }
            dnsName = name
        }
        return VIPSettings(address: text, prefix: prefix, port: port ?? VIPSettings.defaultPort, dnsName: dnsName)
    }

    private func checkVIP(_ inventory: Inventory, top: YAMLMapping, entries: [HostEntry]) throws(ClusterupError) {
        guard let vip = inventory.vip, let vipField = top["vip"] else { return }
        let mapping = try vipField.mapping(allowed: ["address", "prefix", "port", "dns_name"])
        let vipAddress = NetworkAddress(vip.address)
        for entry in entries {
            for (key, text) in [("address", entry.host.address), ("private_address", entry.host.privateAddress)]
            where NetworkAddress(text) == vipAddress {
                throw try mapping.required("address").error(
                    "the VIP \(vip.address) is also hosts[\(entry.index)].\(key) (host \(entry.host.name)) at \(entry.addressField.location)",
                    hint: "the VIP must be an address no host owns; VRRP moves it between the lb hosts")
            }
        }
        // HAProxy on the VIP and the apiserver on all addresses cannot share 6443 on the same host.
        if vip.port == 6443, let both = entries.first(where: { $0.host.roles.isSuperset(of: [.lb, .controlPlane]) }) {
            throw (mapping["port"] ?? vipField).error(
                "port 6443 on the VIP clashes with the apiserver's 6443 on host \(both.host.name), which is both lb and control-plane",
                hint: "use another port for the load balancer, e.g. 8443 (the default)")
        }
    }

    // MARK: VRRP

    static let vrrpKeys = [
        "backend", "interface", "vrid", "version", "advert_interval", "priorities", "preempt", "preempt_delay",
        "unicast", "checksum", "auth_password", "garp", "track", "realtime_priority", "max_interval_factor", "unicast_ttl_check",
        "firewall",
    ]

    private func readVRRP(_ field: YAMLField) throws(ClusterupError) -> VRRPSettings {
        let mapping = try field.mapping(allowed: Self.vrrpKeys)
        var version = VRRPSettings.defaultVersion
        if let versionField = mapping["version"] { version = try versionField.int(in: 2...3, what: "VRRP version") }

        var interval: Duration?
        if let intervalField = mapping["advert_interval"] {
            let value = try intervalField.duration()
            interval = value
            let milliseconds = value.totalMilliseconds
            if version == 2 {
                guard milliseconds % 1000 == 0, (1...255).contains(milliseconds / 1000) else {
                    throw intervalField.error(
                        "VRRPv2 advertisement intervals are whole seconds 1s..255s, got \(value.inventoryText)",
                        hint: "use e.g. 1s, or 'version: 3' for sub-second intervals")
                }
            } else {
                guard milliseconds % 10 == 0, (10...40_950).contains(milliseconds) else {
                    throw intervalField.error(
                        "VRRPv3 advertisement intervals are multiples of 10ms from 10ms to 40950ms, got \(value.inventoryText)",
                        hint: "e.g. 100ms or 1s")
                }
            }
        }

        var settings = VRRPSettings(version: version, advertInterval: interval)
        if let backend = mapping["backend"] { settings.backend = try backend.oneOf(VRRPSettings.Backend.self, what: "backends") }
        if let interface = mapping["interface"] { settings.interface = try readInterfaceName(interface) }
        if let vrid = mapping["vrid"] { settings.vrid = try vrid.int(in: 1...255, what: "a virtual router id") }
        if let preempt = mapping["preempt"] { settings.preempt = try preempt.bool() }
        if let delay = mapping["preempt_delay"] { settings.preemptDelay = try delay.duration() }
        if let unicast = mapping["unicast"] { settings.unicast = try unicast.bool() }
        if let checksum = mapping["checksum"] {
            guard version == 3 else {
                throw checksum.error("'checksum' applies to VRRPv3 only", hint: "remove it, or set 'version: 3'")
            }
            settings.checksum = try checksum.oneOf(VRRPSettings.Checksum.self, what: "checksum modes")
        }
        if let password = mapping["auth_password"] {
            guard version == 2 else {
                throw password.error(
                    "'auth_password' applies to VRRPv2 only (RFC 5798 removed authentication)",
                    hint: "remove it, or set 'version: 2' to interoperate with a keepalived using auth_pass")
            }
            let text = try password.nonEmptyString()
            guard text.utf8.count <= 8 else {
                throw password.error("VRRPv2 passwords are at most 8 bytes (keepalived truncates longer ones)",
                                     hint: "shorten it")
            }
            // keepalived reads auth_pass as a bare word and cuts it at '#' or '!' (comments).
            if let bad = text.unicodeScalars.first(where: { !("!"..."~").contains($0) || "#!\"'\\".unicodeScalars.contains($0) }) {
                throw password.error("the password holds '\(bad)'",
                                     hint: "use printable ASCII without spaces, quotes, backslashes, '#' or '!' (keepalived cuts a password there)")
            }
            settings.authPassword = text
        }
        if let garp = mapping["garp"] { settings.garp = try readGARP(garp) }
        if let track = mapping["track"] { settings.track = try readTrack(track, backend: settings.backend) }
        if let realtime = mapping["realtime_priority"] {
            settings.realtimePriority = try realtime.int(in: 0...99, what: "a realtime priority")
        }
        if let check = mapping["unicast_ttl_check"] { settings.unicastTTLCheck = try check.bool() }
        if let firewall = mapping["firewall"] { settings.firewall = try firewall.bool() }
        if let factor = mapping["max_interval_factor"] {
            guard version == 3 else {
                throw factor.error("'max_interval_factor' applies to VRRPv3 only (v2 routers must share one interval)",
                                   hint: "remove it, or set 'version: 3'")
            }
            settings.maxIntervalFactor = try factor.int(in: 0...1000, what: "a multiple of advert_interval")
        }
        return settings
    }

    private func readInterfaceName(_ field: YAMLField) throws(ClusterupError) -> String {
        let name = try field.nonEmptyString()
        guard VRRPLimits.isInterfaceName(name) else {
            throw field.error("'\(name)' is not a Linux interface name", hint: "e.g. eth0 (see `ip -br link` on the node)")
        }
        return name
    }

    private func readGARP(_ field: YAMLField) throws(ClusterupError) -> VRRPSettings.GARP {
        let mapping = try field.mapping(allowed: ["repeat", "delay", "refresh"])
        var garp = VRRPSettings.GARP()
        if let repeatField = mapping["repeat"] { garp.repeatCount = try repeatField.int(in: VRRPLimits.garpRepeat) }
        if let delay = mapping["delay"] { garp.delay = try delay.duration() }
        if let refresh = mapping["refresh"] { garp.refresh = try refresh.duration() }
        return garp
    }

    private func readTrack(_ field: YAMLField, backend: VRRPSettings.Backend) throws(ClusterupError) -> VRRPSettings.Track {
        let mapping = try field.mapping(allowed: [
            "http", "tcp", "interval", "timeout", "rise", "fall", "weight", "scripts", "interfaces",
        ])
        var track = VRRPSettings.Track()
        if let http = mapping["http"] {
            let url = try http.string()
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil,
                  url.unicodeScalars.allSatisfy({ ("!"..."~").contains($0) && !"\"'\\`<>{}|^".unicodeScalars.contains($0) }) else {
                throw http.error("'\(url)' is not an http:// or https:// URL",
                                 hint: "e.g. https://127.0.0.1:6443/readyz (percent-encode anything else)")
            }
            // clusterup-vrrpd connects to an address itself (no resolver); keepalived's curl resolves.
            if backend == .clusterupVRRPD, VRRPLimits.checkURL(url) == nil {
                throw http.error("clusterup-vrrpd checks http(s)://IPv4-or-localhost[:port]/path, not '\(url)'",
                                 hint: "use an address, e.g. https://127.0.0.1:6443/readyz (or vrrp.backend: keepalived, whose curl resolves names)")
            }
            track.http = url
        }
        if let tcp = mapping["tcp"] {
            let target = try tcp.string()
            guard let split = splitHostPort(target), NetworkAddress(split.host) != nil else {
                throw tcp.error("'\(target)' is not host:port", hint: "e.g. 127.0.0.1:8443")
            }
            track.tcp = target
        }
        try readCheckTiming(mapping, into: &track.interval, &track.timeout, &track.rise, &track.fall, &track.weight)
        if let scripts = mapping["scripts"] {
            for item in try scripts.sequence() {
                let script = try item.mapping(allowed: ["name", "command", "interval", "timeout", "rise", "fall", "weight"])
                var entry = VRRPSettings.Script(
                    name: try scriptName(script.required("name")), command: try script.required("command").nonEmptyString(),
                    interval: track.interval, timeout: track.timeout, rise: track.rise, fall: track.fall, weight: track.weight)
                try readCheckTiming(script, into: &entry.interval, &entry.timeout, &entry.rise, &entry.fall, &entry.weight)
                track.scripts.append(entry)
            }
        }
        if let interfaces = mapping["interfaces"] {
            for item in try interfaces.sequence() { track.interfaces.append(try readInterfaceName(item)) }
        }
        return track
    }

    /// A check's name becomes a keepalived `vrrp_script` name and a status key: one plain word.
    private func scriptName(_ field: YAMLField) throws(ClusterupError) -> String {
        let name = try field.nonEmptyString()
        guard name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }) else {
            throw field.error("'\(name)' is not a check name", hint: "use letters, digits, '_', '.' and '-'")
        }
        return name
    }

    private func checkDuration(_ field: YAMLField) throws(ClusterupError) -> Duration {
        let value = try field.duration()
        guard value >= .milliseconds(VRRPLimits.checkMinimumMilliseconds) else {
            throw field.error("at least \(VRRPLimits.checkMinimumMilliseconds)ms, got \(value.inventoryText)")
        }
        return value
    }

    private func readCheckTiming(
        _ mapping: YAMLMapping, into interval: inout Duration, _ timeout: inout Duration,
        _ rise: inout Int, _ fall: inout Int, _ weight: inout Int
    ) throws(ClusterupError) {
        if let field = mapping["interval"] { interval = try checkDuration(field) }
        if let field = mapping["timeout"] { timeout = try checkDuration(field) }
        if let field = mapping["rise"] { rise = try field.int(in: VRRPLimits.checkRiseFall) }
        if let field = mapping["fall"] { fall = try field.int(in: VRRPLimits.checkRiseFall) }
        // Like keepalived: 0 means a failing check faults the instance; otherwise it shifts the priority.
        if let field = mapping["weight"] { weight = try field.int(in: VRRPLimits.checkWeight, what: "a weight") }
    }

    /// Checks that need the hosts: the interface for lb hosts, priorities naming lb hosts, v2 with IPv6.
    private func checkVRRP(_ inventory: inout Inventory, top: YAMLMapping, entries: [HostEntry]) throws(ClusterupError) {
        let lbEntries = entries.filter { $0.host.roles.contains(.lb) }
        guard let vrrpField = top["vrrp"], var vrrp = inventory.vrrp else {
            if let first = lbEntries.first {
                let roleField = try first.rolesField.sequence().first { (try? $0.string()) == Role.lb.rawValue } ?? first.rolesField
                throw roleField.error(
                    "lb hosts need a 'vrrp' section naming the interface that carries the VIP",
                    hint: "add 'vrrp: {interface: eth0}' (the interface on the lb hosts' subnet) and a 'vip' section")
            }
            return
        }
        let mapping = try vrrpField.mapping(allowed: Self.vrrpKeys)
        if !lbEntries.isEmpty, vrrp.interface == nil {
            throw vrrpField.error(
                "missing 'interface': it is required because hosts \(lbEntries.map(\.host.name).joined(separator: ", ")) have the lb role",
                hint: "name the interface that carries VRRP and the VIP on the lb hosts, e.g. 'interface: eth0'")
        }
        if vrrp.version == 2, let vip = inventory.vip, vip.isIPv6 {
            throw (mapping["version"] ?? vrrpField).error(
                "VRRPv2 carries IPv4 only, but the VIP \(vip.address) is IPv6", hint: "use 'version: 3'")
        }
        if vrrp.firewall {
            // The allow-list names the lb hosts by address: IPv4 literals, as VRRP over IPv4 sends them.
            if let vip = inventory.vip, vip.isIPv6 {
                throw (mapping["firewall"] ?? vrrpField).error(
                    "'firewall' covers VRRP over IPv4 only, but the VIP \(vip.address) is IPv6",
                    hint: "remove 'firewall: true', and filter VRRP (IP protocol 112) from the lb hosts' link-local addresses yourself")
            }
            for entry in lbEntries {
                guard case .ipv4? = NetworkAddress(entry.host.privateAddress) else {
                    throw (entry.privateAddressField ?? entry.addressField).error(
                        "vrrp.firewall allows VRRP from the lb hosts' private addresses, which must be IPv4 addresses; host \(entry.host.name) has '\(entry.host.privateAddress)'",
                        hint: "give host \(entry.host.name) a private_address that is an IPv4 address, or remove 'firewall: true'")
                }
            }
        }
        if let prioritiesField = mapping["priorities"] {
            let names = entries.map(\.host.name)
            var priorities: [String: Int] = [:]
            let priorityMap = try prioritiesField.mapping(allowed: nil)
            for (name, keyField, value) in priorityMap.entries {
                guard let entry = entries.first(where: { $0.host.name == name }) else {
                    throw keyField.error("no host named '\(name)'", hint: suggestion(for: name, among: names, listing: "hosts"))
                }
                guard entry.host.roles.contains(.lb) else {
                    let lbNames = lbEntries.map(\.host.name)
                    throw keyField.error(
                        "host '\(name)' has no lb role, so it takes no part in VRRP",
                        hint: lbNames.isEmpty ? "give it the lb role or remove the entry"
                            : "priorities apply to the lb hosts: \(lbNames.joined(separator: ", "))")
                }
                priorities[name] = try value.int(in: 1...VRRPSettings.maximumPriority, what: "a priority")
            }
            vrrp.priorities = priorities
            inventory.vrrp = vrrp
        }
    }

    // MARK: PKI

    static let pkiKeys = [
        "directory", "algorithm", "ca_validity", "leaf_validity", "renew_before", "cluster_domain", "service_cidr",
        "extra_sans", "external_ca",
    ]

    private func readPKI(_ field: YAMLField?, cluster: String) throws(ClusterupError) -> PKISettings {
        var pki = PKISettings(directory: resolve("pki/\(cluster)"))
        guard let field else { return pki }
        let mapping = try field.mapping(allowed: Self.pkiKeys)
        if let directory = mapping["directory"] { pki.directory = resolve(try directory.nonEmptyString()) }
        if let algorithm = mapping["algorithm"] { pki.algorithm = try algorithm.oneOf(KeyAlgorithm.self, what: "algorithms") }
        if let validity = mapping["ca_validity"] { pki.caValidity = try positive(validity.duration(), validity) }
        if let validity = mapping["leaf_validity"] { pki.leafValidity = try positive(validity.duration(), validity) }
        if let renew = mapping["renew_before"] { pki.renewBefore = try renew.duration() }
        if pki.leafValidity > pki.caValidity {
            throw (mapping["leaf_validity"] ?? field).error(
                "leaf_validity \(pki.leafValidity.inventoryText) outlives ca_validity \(pki.caValidity.inventoryText)",
                hint: "a certificate cannot be valid longer than the CA that signs it; shorten leaf_validity")
        }
        if pki.renewBefore >= pki.leafValidity {
            throw (mapping["renew_before"] ?? field).error(
                "renew_before \(pki.renewBefore.inventoryText) is not shorter than leaf_validity \(pki.leafValidity.inventoryText), so every run would re-issue",
                hint: "e.g. renew_before: 30d with leaf_validity: 365d")
        }
        if let domain = mapping["cluster_domain"] {
            let name = try domain.string()
            guard NetworkAddress.isDNSName(name) else { throw domain.error("'\(name)' is not a DNS name", hint: "e.g. cluster.local") }
            guard !name.hasSuffix(".") else {
                throw domain.error("'\(name)' ends in a dot", hint: "certificate names are written without the root dot: '\(name.dropLast())'")
            }
            pki.clusterDomain = name
        }
        if let cidr = mapping["service_cidr"] {
            let text = try cidr.string()
            guard IPNetwork(text) != nil else { throw cidr.error("'\(text)' is not a CIDR", hint: "e.g. 10.96.0.0/12") }
            pki.serviceCIDR = text
        }
        if let sans = mapping["extra_sans"] {
            for item in try sans.sequence() {
                let text = try item.string()
                let name = text.hasPrefix("*.") ? String(text.dropFirst(2)) : text
                guard NetworkAddress(name) != nil else {
                    throw item.error("'\(text)' is neither an IP address nor a DNS name", hint: "e.g. api.example.com or 203.0.113.10")
                }
                guard !text.hasSuffix(".") else {
                    throw item.error("'\(text)' ends in a dot", hint: "certificate names are written without the root dot: '\(text.dropLast())'")
                }
                pki.extraSANs.append(text)
            }
        }
        if let external = mapping["external_ca"] {
            let ca = try external.mapping(allowed: ["cert", "key", "passphrase_env"])
            let certField = try ca.required("cert"), keyField = try ca.required("key")
            let cert = resolve(try certField.nonEmptyString()), key = resolve(try keyField.nonEmptyString())
            let hint = "point it at your CA's PEM file (relative paths are relative to the inventory's directory), or remove 'external_ca' to let `certs gen` make a CA"
            try checkReadable(cert, certField, what: "CA certificate", hint: hint)
            try checkReadable(key, keyField, what: "CA key", hint: hint)
            pki.externalCA = .init(
                certificatePath: cert, keyPath: key,
                passphraseEnvironmentVariable: try ca["passphrase_env"].map { field throws(ClusterupError) in try readEnvironmentName(field) })
        }
        return pki
    }

    // MARK: Paths

    /// `~` and `~/x` expand to the home directory; relative paths are relative to the inventory.
    func resolve(_ path: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") { return absolutePath(String(path.dropFirst(2)), relativeTo: homeDirectory) }
        return absolutePath(path, relativeTo: directory)
    }
}
