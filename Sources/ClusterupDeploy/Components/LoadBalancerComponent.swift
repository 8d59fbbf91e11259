import ClusterupNodes
import ClusterupCore
import ClusterupSSH

/// lb hosts: the VRRP daemon (clusterup-vrrpd or keepalived) holding the VIP, and HAProxy on
/// the VIP in front of every control-plane node's kube-apiserver.
enum LoadBalancerComponent {
    static let sysctlPath = "/etc/sysctl.d/90-clusterup.conf"
    static let haproxyConfig = "/etc/haproxy/haproxy.cfg"
    static let vrrpdConfig = "/etc/clusterup/vrrpd.yaml"
    static let vrrpdDigest = "/etc/clusterup/clusterup-vrrpd.sha256"
    static let keepalivedConfig = "/etc/keepalived/keepalived.conf"
    static let firewallRuleset = "/etc/clusterup/vrrp-firewall.nft"
    static let firewallUnit = "clusterup-vrrp-firewall.service"
    static let firewallTable = "inet clusterup_vrrp"
    /// The units deploy keeps running on lb hosts, and the load balancer phase (re)starts or reloads.
    static let haproxyUnit = ManagedUnit(name: "haproxy.service", component: "haproxy", reload: true)
    static let firewall = ManagedUnit(name: firewallUnit, component: "vrrp")
    static func vrrpUnit(_ backend: VRRPSettings.Backend) -> ManagedUnit {
        switch backend {
        case .clusterupVRRPD: ManagedUnit(name: "clusterup-vrrpd.service", component: "vrrp", reload: true)
        case .keepalived: ManagedUnit(name: "keepalived.service", component: "vrrp", reload: true)
        }
    }
    /// Deletes the allow-list's table if it is loaded; forgets a failed stop of its unit.
    static let liftFirewall = """
        if command -v nft >/dev/null 2>&1 && nft list table \(firewallTable) >/dev/null 2>&1; then nft delete table \(firewallTable) && echo "removed nftables table \(firewallTable)"; fi
        systemctl reset-failed \(firewallUnit) 2>/dev/null || true
        """

    static func describe(_ host: InventoryHost, _ inputs: DeployInputs, into state: inout HostDesiredState) throws {
        guard host.roles.contains(.lb) else { return }
        let inventory = inputs.inventory
        let vip = try inventory.requireVIP(for: "an lb host")
        let cluster = inventory.cluster

        state.add(ManagedFile(
            path: sysctlPath, text: try inputs.render("sysctl-clusterup.conf", [:]), component: "haproxy"))
        state.sysctlFiles.append(sysctlPath)

        let backends = inventory.hosts(withRole: .controlPlane).map { ["name": $0.name, "address": $0.privateAddress] }
        state.add(ManagedFile(
            path: haproxyConfig,
            text: try inputs.render("haproxy.cfg", [
                "cluster": cluster, "vip": vip.isIPv6 ? "[\(vip.address)]" : vip.address, "port": vip.port,
                "backends": backends, "apiserverPort": 6443, "statsPort": HAProxyNode.statsPort, "adminSocket": HAProxyNode.adminSocket, "backend": HAProxyNode.apiserverBackend, "checkInterval": "1s",
            ]),
            restarts: [haproxyUnit.name], component: "haproxy"))
        // Debian's unit leaves the descriptor limit at systemd's default; maxconn needs more. The
        // stats socket lives in /run/haproxy, which the package's tmpfiles.d rule makes at boot:
        // apply the rule again before each start, so a boot where systemd-tmpfiles-setup failed
        // (seen on loaded lab nodes) does not leave HAProxy unable to start.
        state.add(ManagedFile(
            path: "/etc/systemd/system/haproxy.service.d/clusterup.conf",
            text: """
                # Managed by clusterup: room for HAProxy's maxconn; /run/haproxy for the stats socket.
                [Service]
                LimitNOFILE=65536
                ExecStartPre=-systemd-tmpfiles --create haproxy.conf

                """,
            restarts: [haproxyUnit.name], component: "haproxy"))
        state.add(haproxyUnit)

        guard let vrrp = inventory.vrrp, let config = inputs.vrrpConfigs[host.name] else {
            throw ClusterupError.badInput(
                "\(host.name) has the lb role but the inventory has no 'vrrp' section", at: inventory.path,
                hint: "add a vrrp section (see `clusterup init`)")
        }
        if vrrp.firewall {
            // A changed allow-list is loaded by the load balancer phase with `nft -f` (one
            // transaction: VRRP is never unfiltered), not by restarting the unit.
            state.add(ManagedFile(
                path: firewallRuleset, text: try firewallRules(for: host, inventory: inventory, templates: inputs.templates),
                component: "vrrp"))
            state.add(ManagedFile(
                path: "/etc/systemd/system/\(firewallUnit)",
                text: try inputs.render("clusterup-vrrp-firewall.service", [
                    "cluster": cluster, "nft": systemdWord(try inputs.artifactPath("nft")), "ruleset": firewallRuleset,
                ]),
                restarts: [firewallUnit], component: "vrrp"))
            state.add(firewall)
        } else {
            // `firewall: false` lifts the allow-list again: the unit is stopped and disabled, and
            // the table deleted even where the unit's ExecStop could not run (seen in containers:
            // systemd fails to spawn a oneshot's stop command once its cgroup is gone, 219/CGROUP).
            state.disabledUnits.append(firewallUnit)
            state.afterDisabling[firewallUnit] = liftFirewall
        }
        let daemon = vrrpUnit(vrrp.backend)
        switch vrrp.backend {
        case .clusterupVRRPD:
            let binaryPath = try inputs.artifactPath("clusterup-vrrpd")
            var digestFile: String? = nil
            if let binary = try inputs.uploadedArtifact("clusterup-vrrpd", restarts: [daemon.name], component: "vrrp") {
                state.add(binary)
                // The node checks the binary it runs as root against the digest deploy uploaded it
                // with, before every start: a file changed on the node since does not start.
                digestFile = vrrpdDigest
                state.add(ManagedFile(
                    path: vrrpdDigest, text: "\(sha256Hex(binary.content))  \(binaryPath)\n",
                    restarts: [daemon.name], component: "vrrp"))
            }
            var daemonConfig = ManagedFile(path: vrrpdConfig, text: config, mode: 0o600,
                                           restarts: [daemon.name], component: "vrrp")
            daemonConfig.secretLinePrefixes = ["auth_password:"]
            state.add(daemonConfig)
            state.add(ManagedFile(
                path: "/etc/systemd/system/clusterup-vrrpd.service",
                text: try inputs.render("clusterup-vrrpd.service", [
                    "cluster": cluster, "vip": vip.address,
                    "binary": systemdWord(binaryPath), "config": vrrpdConfig,
                    "digest_file": digestFile ?? false as Any,
                ]),
                restarts: [daemon.name], component: "vrrp"))
            state.add(daemon)
            state.disabledUnits.append(vrrpUnit(.keepalived).name)
        case .keepalived:
            var keepalived = ManagedFile(path: keepalivedConfig, text: config, mode: 0o600,
                                         restarts: [daemon.name], component: "vrrp")
            keepalived.secretLinePrefixes = ["auth_pass"]
            state.add(keepalived)
            state.add(daemon)
            state.disabledUnits.append(vrrpUnit(.clusterupVRRPD).name)
        }
    }

    /// The nftables allow-list of `host` (vrrp.firewall): VRRP only from the other lb hosts'
    /// private addresses, to the VRRP multicast group or this host's own address (unicast mode).
    static func firewallRules(for host: InventoryHost, inventory: Inventory, templates: TemplateSet) throws -> String {
        let peers = inventory.hosts(withRole: .lb).filter { $0.name != host.name }.map(\.privateAddress)
        return try templates.render("vrrp-firewall.nft", [
            "cluster": inventory.cluster, "address": host.privateAddress,
            "has_peers": !peers.isEmpty, "peers": peers.joined(separator: ", "),
        ])
    }
}
