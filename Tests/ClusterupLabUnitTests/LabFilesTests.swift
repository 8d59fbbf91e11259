import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab

@Suite struct LabFilesTests {
    func twoNodeLab(block: Int = 1) throws -> (LabState, LabPaths) {
        let name = try LabName("demo")
        let plan = try AddressPlan(block: block)
        let paths = LabPaths(name: name, root: "/srv/labs")
        var state = LabState(name: name, plan: plan, createdAt: Date(timeIntervalSince1970: 0))
        state.nodes = [paths.node(2, plan: plan), paths.node(1, plan: plan)]
        state.nodes[0].hostKey = "ssh-ed25519 AAAAkey2"
        state.nodes[1].hostKey = "ssh-ed25519 AAAAkey1"
        return (state, paths)
    }

    @Test func inventoryFollowsTheSchema() throws {
        let (state, paths) = try twoNodeLab()
        let expected = """
        # Written by `clusterup lab up` for lab "demo" on bridge cu-demo (198.51.100.64/26).
        # `clusterup lab up` and `clusterup lab grow` rewrite it; `clusterup lab down` removes it.
        cluster: demo
        ssh:
          user: root
          port: 22
          identity_files: [/srv/labs/demo/id_ed25519]
          # Only the lab's own key and host keys: nothing from the operator's agent or ~/.ssh/config.
          agent: false
          use_ssh_config: false
          known_hosts: /srv/labs/demo/known_hosts
          connect_timeout: 10
        hosts:
          - name: node1
            address: 198.51.100.75
            roles: [etcd, control-plane, lb]
          - name: node2
            address: 198.51.100.76
            roles: [etcd, control-plane, lb]
        vip:
          address: 198.51.100.126
          prefix: 26
          port: 8443
        vrrp:
          interface: host0
          vrid: 52
          version: 3
          advert_interval: 100ms
          # The VIP leaves a node whose HAProxy is dead or reaches no ready apiserver (HAProxy's
          # /healthz answers 503 then), and returns only once it does (verify failover --mode service).
          track: {http: "http://127.0.0.1:8404/healthz", interval: 200ms, timeout: 1s, fall: 3, rise: 2}
        pki:
          algorithm: ecdsa-p256
          ca_validity: 3650d
          leaf_validity: 365d
          renew_before: 30d
          cluster_domain: cluster.local
          service_cidr: 10.96.0.0/12
        # No registry reachable here ships Kubernetes binaries: the lab installs clearly named
        # stand-ins (see the files) that take the real flags and serve /livez and /readyz over TLS.
        control_plane:
          version: v1.31.2
        artifacts:
          kube-apiserver: {file: /srv/labs/demo/standins/kube-apiserver}
          kube-controller-manager: {file: /srv/labs/demo/standins/kube-controller-manager}
          kube-scheduler: {file: /srv/labs/demo/standins/kube-scheduler}

        """
        #expect(try LabFiles.inventory(state: state, paths: paths) == expected)
    }

    @Test func knownHostsPairsEachAddressWithItsOwnKeyInNodeOrder() throws {
        let (state, _) = try twoNodeLab(block: 0)
        #expect(LabFiles.knownHosts(state: state) ==
                "198.51.100.11 ssh-ed25519 AAAAkey1\n198.51.100.12 ssh-ed25519 AAAAkey2\n")
    }

    @Test func knownHostsLeavesOutNodesWithoutAKeyYet() throws {
        var (state, _) = try twoNodeLab(block: 0)
        state.nodes[0].hostKey = nil
        #expect(LabFiles.knownHosts(state: state) == "198.51.100.11 ssh-ed25519 AAAAkey1\n")
    }

    @Test func publicKeyLosesItsComment() {
        #expect(LabFiles.publicKeyWithoutComment("ssh-ed25519 AAAAC3Nz root@node1\n") == "ssh-ed25519 AAAAC3Nz")
        #expect(LabFiles.publicKeyWithoutComment("garbage") == nil)
    }

    @Test func hostInterfaceGetsAStaticAddressAndNoGateway() {
        let network = LabFiles.hostInterfaceNetwork(address: "198.51.100.11")
        #expect(network.contains("[Match]\nName=host0\n"))
        #expect(network.contains("Address=198.51.100.11/26\n"))
        #expect(!network.contains("Gateway"))
        #expect(!network.contains("DHCP=yes"))
    }

    @Test func hostsListsEveryNode() throws {
        let (state, _) = try twoNodeLab(block: 0)
        let hosts = LabFiles.hosts(state: state)
        #expect(hosts.contains("198.51.100.11\tnode1\n"))
        #expect(hosts.contains("198.51.100.12\tnode2\n"))
        #expect(hosts.hasPrefix("127.0.0.1\tlocalhost\n"))
    }

    @Test func embeddedStandinsMatchTheRepository() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("lab/standins")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(Set(files) == Set(EmbeddedStandins.all.keys), "run scripts/embed-templates")
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            #expect(EmbeddedStandins.all[file] == text, "\(file): run scripts/embed-templates")
        }
        #expect(LabFiles.standins.map(\.0) == ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
    }

    @Test func standinsClaimTheVersionTheLabInventoryDeclares() throws {
        for (name, text) in LabFiles.standins {
            #expect(text.contains("\nVERSION = \"\(LabFiles.standinVersion)\"\n"), "\(name)")
        }
        let (state, paths) = try twoNodeLab()
        #expect(try LabFiles.inventory(state: state, paths: paths).contains("control_plane:\n  version: \(LabFiles.standinVersion)\n"))
    }

    @Test func serviceUnitsOfTheHostStayDisabledInNodes() {
        for unit in ["etcd.service", "haproxy.service", "keepalived.service", "postgresql.service"] {
            #expect(!LabFiles.unitsKeptEnabled.contains(unit))
        }
        #expect(LabFiles.unitsKeptEnabled.contains("ssh.service"))
    }

    @Test func sshdPAMOfANodeRunsNoMotdScriptsAndKeepsEverythingElse() {
        let debian = """
        # Print the message of the day upon successful login.
        session    optional     pam_motd.so  motd=/run/motd.dynamic
        session    optional     pam_motd.so noupdate
        session    required     pam_limits.so
        #session   optional     pam_motd.so
        @include common-session
        """
        let trimmed = LabFiles.sshdPAMWithoutMotd(debian).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(trimmed.count == 6)
        #expect(trimmed[0] == "# Print the message of the day upon successful login.")
        #expect(trimmed[1].hasPrefix("# Disabled by clusterup lab up") && trimmed[1].hasSuffix("pam_motd.so  motd=/run/motd.dynamic"))
        #expect(trimmed[2].hasPrefix("# Disabled by clusterup lab up") && trimmed[2].hasSuffix("pam_motd.so noupdate"))
        #expect(trimmed[3] == "session    required     pam_limits.so")
        #expect(trimmed[4] == "#session   optional     pam_motd.so")
        #expect(trimmed[5] == "@include common-session")
    }
}

@Suite struct LabInventoryLoadsTests {
    @Test func theLoaderAcceptsTheLabInventoryAsWritten() throws {
        let root = NSTemporaryDirectory() + "lab-inventory-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let name = try LabName("demo")
        let plan = try AddressPlan(block: 2)
        let paths = LabPaths(name: name, root: root)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
        // The loader checks that identity files are readable; content does not matter to it.
        try "key".write(toFile: paths.privateKey, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: paths.privateKey)
        try FileManager.default.createDirectory(atPath: paths.standins, withIntermediateDirectories: true)
        for (name, text) in LabFiles.standins {
            try text.write(toFile: "\(paths.standins)/\(name)", atomically: true, encoding: .utf8)
        }
        var state = LabState(name: name, plan: plan, createdAt: Date())
        state.nodes = (1...3).map { paths.node($0, plan: plan) }
        try LabFiles.inventory(state: state, paths: paths).write(toFile: paths.inventory, atomically: true, encoding: .utf8)

        let inventory = try InventoryLoader().load(path: paths.inventory)
        #expect(inventory.cluster == "demo")
        #expect(inventory.hosts.map(\.name) == ["node1", "node2", "node3"])
        #expect(inventory.hosts.map(\.address) == ["198.51.100.139", "198.51.100.140", "198.51.100.141"])
        #expect(inventory.hosts.allSatisfy { $0.roles == [.etcd, .controlPlane, .lb] })
        #expect(inventory.ssh.user == "root")
        #expect(inventory.ssh.identityFiles == [paths.privateKey])
        #expect(inventory.ssh.knownHosts == paths.knownHosts)
        #expect(inventory.ssh.agent == false)
        #expect(inventory.vip?.address == plan.vipAddress)
        #expect(inventory.vip?.prefix == 26)
        #expect(inventory.vip?.port == 8443)
        #expect(inventory.vrrp?.interface == "host0")
        #expect(inventory.vrrp?.vrid == plan.vrid)
        #expect(inventory.vrrp?.version == 3)
        #expect(inventory.vrrp?.advertInterval == .milliseconds(100))
        #expect(inventory.deploy.controlPlane.version == LabFiles.standinVersion)
    }
}

@Suite struct LabShadowTests {
    @Test func everyPasswordHashBecomesAStar() {
        let shadow = "root:$6$salt$hash:19000:0:99999:7:::\nop:!:19000::::::\nnobody:*:19000:0:99999:7:::\n"
        #expect(LabFiles.withoutPasswords(shadow) == "root:*:19000:0:99999:7:::\nop:*:19000::::::\nnobody:*:19000:0:99999:7:::\n")
    }
}

/// A stand-in claiming another release: its own `--version` says so (the version is the artifact's).
@Suite struct StandinVersionTests {
    @Test(arguments: ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
    func aCopyClaimsTheVersionAskedFor(name: String) throws {
        let program = try #require(LabFiles.standin(name, version: "v1.32.0"))
        #expect(program != LabFiles.standins.first { $0.0 == name }!.1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("standin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Installed under its own name: one script serves controller-manager and scheduler.
        let path = directory.appendingPathComponent(name).path
        try program.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try HostCommands().run("/usr/bin/python3", ["-S", path, "--version"])
        #expect(result.stdout == "Kubernetes v1.32.0 (clusterup lab stand-in, not Kubernetes)\n")
    }

    @Test func anUnknownStandinIsNil() {
        #expect(LabFiles.standin("kubelet", version: "v1.32.0") == nil)
    }
}
