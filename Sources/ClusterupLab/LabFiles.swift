/// The text files a lab writes, rendered from its state. Pure: no I/O here.
public enum LabFiles {
    /// /etc/shadow or /etc/gshadow with every password hash replaced by `*` (no password login),
    /// so a node cannot read the host's hashes; key logins, which the lab uses, are unaffected.
    static func withoutPasswords(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { return String(line) }
            fields[1] = "*"
            return fields.joined(separator: ":")
        }.joined(separator: "\n")
    }

    /// Roles every lab node gets, so each later phase has all nodes to work on.
    public static let roles = ["etcd", "control-plane", "lb"]
    public static let vipPort = 8443
    public static let vrrpInterface = "host0"
    public static let vrrpAdvertInterval = "100ms"
    /// The Kubernetes release the stand-ins claim (`VERSION` in lab/standins/), declared as the
    /// inventory's control_plane.version so `upgrade plan` starts from a cluster at its target.
    public static let standinVersion = "v1.31.2"

    /// The inventory (schema of INVENTORY.md) for the lab's nodes.
    public static func inventory(state: LabState, paths: LabPaths) throws -> String {
        let plan = try state.plan
        var lines = [
            "# Written by `clusterup lab up` for lab \"\(state.name)\" on bridge \(state.bridge) (\(plan.network)).",
            "# `clusterup lab up` and `clusterup lab grow` rewrite it; `clusterup lab down` removes it.",
            "cluster: \(state.name)",
            "ssh:",
            "  user: root",
            "  port: 22",
            "  identity_files: [\(paths.privateKey)]",
            "  # Only the lab's own key and host keys: nothing from the operator's agent or ~/.ssh/config.",
            "  agent: false",
            "  use_ssh_config: false",
            "  known_hosts: \(paths.knownHosts)",
            "  connect_timeout: 10",
            "hosts:",
        ]
        for node in state.nodes.sorted(by: { $0.index < $1.index }) {
            lines += [
                "  - name: \(node.name)",
                "    address: \(node.address)",
                "    roles: [\(roles.joined(separator: ", "))]",
            ]
        }
        lines += [
            "vip:",
            "  address: \(plan.vipAddress)",
            "  prefix: \(AddressPlan.prefixLength)",
            "  port: \(vipPort)",
            "vrrp:",
            "  interface: \(vrrpInterface)",
            "  vrid: \(plan.vrid)",
            "  version: 3",
            "  advert_interval: \(vrrpAdvertInterval)",
            "  # The VIP leaves a node whose HAProxy is dead or reaches no ready apiserver (HAProxy's",
            "  # /healthz answers 503 then), and returns only once it does (verify failover --mode service).",
            "  track: {http: \"http://127.0.0.1:8404/healthz\", interval: 200ms, timeout: 1s, fall: 3, rise: 2}",
            "pki:",
            "  algorithm: ecdsa-p256",
            "  ca_validity: 3650d",
            "  leaf_validity: 365d",
            "  renew_before: 30d",
            "  cluster_domain: cluster.local",
            "  service_cidr: 10.96.0.0/12",
            "# No registry reachable here ships Kubernetes binaries: the lab installs clearly named",
            "# stand-ins (see the files) that take the real flags and serve /livez and /readyz over TLS.",
            "control_plane:",
            "  version: \(standinVersion)",
            "artifacts:",
            "  kube-apiserver: {file: \(paths.standins)/kube-apiserver}",
            "  kube-controller-manager: {file: \(paths.standins)/kube-controller-manager}",
            "  kube-scheduler: {file: \(paths.standins)/kube-scheduler}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The stand-in programs by the name they are installed under. One script serves as both
    /// kube-controller-manager and kube-scheduler: it tells which it is from its own name.
    public static var standins: [(String, String)] {
        [
            ("kube-apiserver", EmbeddedStandins.all["kube-apiserver"]!),
            ("kube-controller-manager", EmbeddedStandins.all["kube-controller-manager"]!),
            ("kube-scheduler", EmbeddedStandins.all["kube-controller-manager"]!),
        ]
    }

    /// A stand-in's program claiming another Kubernetes release: its `VERSION` line replaced. The
    /// version is part of the artifact, as with a real binary, so installing this copy is an
    /// upgrade (or downgrade) that `upgrade plan`, `status` and `/version` see.
    public static func standin(_ name: String, version: String) -> String? {
        guard let program = standins.first(where: { $0.0 == name })?.1 else { return nil }
        return program.replacingOccurrences(of: "\nVERSION = \"\(standinVersion)\"\n", with: "\nVERSION = \"\(version)\"\n")
    }

    /// OpenSSH known_hosts lines with each node's real host key (`<address> ssh-ed25519 AAAA...`).
    public static func knownHosts(state: LabState) -> String {
        state.nodes.sorted(by: { $0.index < $1.index }).compactMap { node in
            node.hostKey.map { "\(node.address) \($0)" }
        }.map { $0 + "\n" }.joined()
    }

    /// `type base64` of an OpenSSH public key line, without its comment.
    public static func publicKeyWithoutComment(_ line: String) -> String? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count >= 2, fields[0].hasPrefix("ssh-") || fields[0].hasPrefix("ecdsa-") else { return nil }
        return "\(fields[0]) \(fields[1])"
    }

    /// systemd-networkd configuration for the node's side of its veth (nspawn names it host0).
    ///
    /// No gateway: the lab reaches nothing outside its bridge. Carrier loss is ignored so a cut link
    /// (`lab link cut`) keeps the node's addresses, including a VIP added by VRRP, until it is restored.
    public static func hostInterfaceNetwork(address: String) -> String {
        """
        # Written by clusterup lab up.
        [Match]
        Name=host0

        [Network]
        Address=\(address)/\(AddressPlan.prefixLength)
        LinkLocalAddressing=no
        IPv6AcceptRA=no
        ConfigureWithoutCarrier=yes
        IgnoreCarrierLoss=yes

        """
    }

    /// /etc/hosts of a node: every node of the lab by name.
    public static func hosts(state: LabState) -> String {
        var text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        for node in state.nodes.sorted(by: { $0.index < $1.index }) {
            text += "\(node.address)\t\(node.name)\n"
        }
        return text
    }

    /// /etc/pam.d/sshd with its pam_motd lines commented out (see `NodeImage.trimPerLoginWork`).
    public static func sshdPAMWithoutMotd(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.first?.hasPrefix("#") == false, words.contains(where: { $0 == "pam_motd.so" || $0.hasSuffix("/pam_motd.so") }) else {
                return String(line)
            }
            return "# Disabled by clusterup lab up (no motd scripts per login): " + line
        }.joined(separator: "\n")
    }

    /// Units the host enables that a node keeps enabled; every other host-enabled unit is disabled
    /// in the node (etcd, haproxy, keepalived, databases, timers: deploy decides what runs there).
    public static let unitsKeptEnabled: Set<String> = [
        "ssh.service", "sshd.service", "ssh.socket", "remote-fs.target", "machines.target",
        "systemd-networkd.service", "systemd-networkd.socket", "systemd-networkd-wait-online.service",
    ]
}
