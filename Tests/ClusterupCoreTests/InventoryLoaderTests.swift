import Foundation
import Testing
@testable import ClusterupCore

@Suite struct InventoryLoadingTests {
    @Test func minimalInventoryGetsDocumentedDefaults() throws {
        let inventory = try parseInventory(minimalInventory())
        #expect(inventory.cluster == "demo")
        #expect(inventory.path == "/srv/cluster/inv.yml")
        let host = try #require(inventory.hosts.first)
        #expect(host.name == "node1")
        #expect(host.privateAddress == "198.51.100.11")
        #expect(host.roles == [.etcd, .controlPlane])
        #expect(host.ssh.user == nil)
        #expect(host.ssh.port == nil)
        #expect(host.ssh.agent)
        #expect(host.ssh.useSSHConfig)
        #expect(host.ssh.sudo == .none)
        #expect(host.ssh.connectTimeout == .seconds(10))
        #expect(host.ssh.commandTimeout == .seconds(300))
        #expect(inventory.vip == nil)
        #expect(inventory.vrrp == nil)
        #expect(inventory.pki.directory == "/srv/cluster/pki/demo")
        #expect(inventory.pki.algorithm == .ecdsaP256)
        #expect(inventory.pki.caValidity == .days(3650))
        #expect(inventory.pki.leafValidity == .days(365))
        #expect(inventory.pki.renewBefore == .days(30))
        #expect(inventory.pki.serviceCIDR == "10.96.0.0/12")
        #expect(inventory.pki.clusterDomain == "cluster.local")
    }

    @Test func hostSSHOverridesMergeOverDefaults() throws {
        let inventory = try parseInventory("""
            cluster: demo
            ssh: {user: root, port: 2200, sudo: false, agent: false, command_timeout: 60}
            hosts:
              - name: node1
                address: 198.51.100.11
                roles: [etcd]
                ssh: {user: admin, sudo: true}
              - {name: node2, address: 198.51.100.12, roles: [etcd]}
            """)
        let node1 = inventory.hosts[0].ssh, node2 = inventory.hosts[1].ssh
        #expect(node1.user == "admin")
        #expect(node1.sudo == .passwordless)
        #expect(node1.port == 2200)
        #expect(node1.agent == false)
        #expect(node1.commandTimeout == .seconds(60))
        #expect(node2.user == "root")
        #expect(node2.sudo == .none)
    }

    @Test func sudoWithPasswordNamesTheEnvironmentVariable() throws {
        let inventory = try parseInventory(minimalInventory(extra: "ssh: {sudo: {password_env: SUDO_PASSWORD}}"))
        #expect(inventory.hosts[0].ssh.sudo == .password(env: "SUDO_PASSWORD"))
    }

    @Test func bastionShortFormSplitsUserHostAndPort() throws {
        let inventory = try parseInventory(minimalInventory(extra: "ssh: {bastion: admin@jump.example:2022}"))
        #expect(inventory.hosts[0].ssh.bastion == Bastion(host: "jump.example", port: 2022, user: "admin"))
    }

    @Test func bastionShortFormAcceptsBracketedIPv6() {
        #expect(InventoryReader.parseBastion("ops@[2001:db8::1]:22") == Bastion(host: "2001:db8::1", port: 22, user: "ops"))
        #expect(InventoryReader.parseBastion("jump") == Bastion(host: "jump"))
        #expect(InventoryReader.parseBastion("a@b@") == nil)
    }

    @Test func bastionMappingFormAndPerHostOptOut() throws {
        let inventory = try parseInventory(minimalInventory(
            hosts: """
              - {name: node1, address: 198.51.100.11, roles: [etcd]}
              - {name: node2, address: 198.51.100.12, roles: [etcd], ssh: {bastion: false}}
            """,
            extra: "ssh: {bastion: {host: 198.51.100.2, user: jump}}"))
        #expect(inventory.hosts[0].ssh.bastion == Bastion(host: "198.51.100.2", user: "jump"))
        #expect(inventory.hosts[1].ssh.bastion == nil)
    }

    @Test func relativePathsResolveAgainstTheInventoryDirectoryAndTildeExpands() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("keys/id_ed25519", "not really a key")
        try scratch.write("home/.ssh/id_ecdsa", "not really a key")
        let inventory = try parseInventory(
            minimalInventory(extra: """
                ssh: {identity_files: [keys/id_ed25519, ~/.ssh/id_ecdsa], known_hosts: known_hosts}
                pki: {directory: ../pki}
                """),
            directory: scratch.path, home: scratch.path + "/home")
        let base = URL(fileURLWithPath: scratch.path).standardized.path
        #expect(inventory.ssh.identityFiles == ["\(base)/keys/id_ed25519", "\(base)/home/.ssh/id_ecdsa"])
        #expect(inventory.ssh.knownHosts == "\(base)/known_hosts")
        #expect(inventory.pki.directory == URL(fileURLWithPath: scratch.path + "/../pki").standardized.path)
    }

    @Test func timeoutsAcceptSecondsOrDurations() throws {
        let inventory = try parseInventory(minimalInventory(extra: "ssh: {connect_timeout: 1500ms, command_timeout: 5m}"))
        #expect(inventory.ssh.connectTimeout == .milliseconds(1500))
        #expect(inventory.ssh.commandTimeout == .seconds(300))
    }

    @Test func ipv6AndDNSAddressesAreAccepted() throws {
        let inventory = try parseInventory(minimalInventory(hosts: """
              - {name: node1, address: "2001:db8::11", private_address: 10.0.0.11, roles: [etcd]}
              - {name: node2.example, address: node2.example.internal, roles: [lb]}
            """, extra: "vrrp: {interface: eth0}"))
        #expect(inventory.hosts[0].address == "2001:db8::11")
        #expect(inventory.hosts[0].privateAddress == "10.0.0.11")
        #expect(inventory.hosts[1].address == "node2.example.internal")
    }
}

@Suite struct InventoryErrorTests {
    @Test func yamlSyntaxErrorGivesFileLineAndColumn() throws {
        let error = try #require(parseError("cluster: demo\nhosts:\n  - name: node1\n   address: x\n"))
        #expect(error.kind == .badInput)
        #expect(error.location == "inv.yml:4:4")
        #expect(error.message.hasPrefix("YAML syntax error"))
    }

    @Test func duplicateYAMLKeyIsASyntaxError() throws {
        let error = try #require(parseError("cluster: demo\ncluster: other\nhosts: []\n"))
        #expect(error.location?.hasPrefix("inv.yml:") == true)
        #expect(error.message.contains("'cluster'"))
    }

    @Test func unknownRoleNamesFieldPathHostAndSuggestion() throws {
        let error = try #require(parseError(minimalInventory(hosts: """
              - {name: node1, address: 198.51.100.11, roles: [etcd]}
              - name: node2
                address: 198.51.100.12
                roles: [etc]
            """)))
        #expect(error.location == "inv.yml:6:13")
        #expect(error.message == "hosts[1].roles[0]: unknown role 'etc' (host node2)")
        #expect(error.hint?.contains("did you mean 'etcd'?") == true)
        #expect(error.exitCode == 2)
    }

    @Test func unknownTopLevelKeySuggestsTheClosestKey() throws {
        let error = try #require(parseError("cluster: demo\nhots: []\n"))
        #expect(error.location == "inv.yml:2:1")
        #expect(error.message == "unknown key 'hots'")
        #expect(error.hint?.hasPrefix("did you mean 'hosts'?") == true)
    }

    @Test func unknownHostKeyNamesTheHostEvenBeforeItsName() throws {
        let error = try #require(parseError(minimalInventory(hosts: """
              - adress: 198.51.100.11
                name: node1
                roles: [etcd]
            """)))
        #expect(error.message == "hosts[0]: unknown key 'adress' (host node1)")
        #expect(error.hint?.hasPrefix("did you mean 'address'?") == true)
    }

    @Test func farFetchedUnknownKeyListsTheAllowedKeysInstead() throws {
        let error = try #require(parseError(minimalInventory(extra: "ssh: {zzzzzzzz: 1}")))
        #expect(error.hint?.contains("did you mean") == false)
        #expect(error.hint?.contains("identity_files") == true)
    }

    @Test func duplicateHostNameNamesBothEntriesWithTheirLines() throws {
        let error = try #require(parseError(minimalInventory(hosts: """
              - {name: node1, address: 198.51.100.11, roles: [etcd]}
              - {name: node2, address: 198.51.100.12, roles: [etcd]}
              - {name: node1, address: 198.51.100.13, roles: [etcd]}
            """)))
        #expect(error.location == "inv.yml:5:12")
        #expect(error.message.contains("hosts[0] at inv.yml:3:12"))
        #expect(error.message.contains("hosts[2] at inv.yml:5:12"))
        #expect(error.message.contains("duplicate host name 'node1'"))
    }

    @Test func duplicateAddressNamesBothHostsEvenWhenSpelledDifferently() throws {
        let error = try #require(parseError(minimalInventory(hosts: """
              - {name: node1, address: "2001:db8::11", roles: [etcd]}
              - {name: node2, address: "2001:DB8:0::11", roles: [etcd]}
            """)))
        #expect(error.message.contains("(host node1) at inv.yml:3:28"))
        #expect(error.message.contains("(host node2) at inv.yml:4:28"))
    }

    @Test func privateAddressMayNotReuseAnotherHostsAddress() throws {
        let error = try #require(parseError(minimalInventory(hosts: """
              - {name: node1, address: 198.51.100.11, roles: [etcd]}
              - {name: node2, address: 198.51.100.12, private_address: 198.51.100.11, roles: [etcd]}
            """)))
        #expect(error.message.contains("hosts[1].private_address (host node2)"))
    }

    @Test(arguments: ["198.51.100.300", "node_1", "[2001:db8::1]", "-bad.example", "1.2.3"])
    func badAddressIsRefused(address: String) throws {
        let error = try #require(parseError(minimalInventory(hosts: """
              - {name: node1, address: "\(address)", roles: [etcd]}
            """)))
        #expect(error.message.hasPrefix("hosts[0].address:"))
        #expect(error.message.hasSuffix("(host node1)"))
    }

    @Test func missingRequiredFieldNamesIt() throws {
        let error = try #require(parseError(minimalInventory(hosts: "  - {name: node1, roles: [etcd]}")))
        #expect(error.message == "hosts[0]: missing required key 'address' (host node1)")
        #expect(error.location == "inv.yml:3:5")
        #expect(parseError("hosts: []")?.message == "missing required key 'cluster'")
    }

    @Test func emptyRolesAreRefused() throws {
        let error = try #require(parseError(minimalInventory(hosts: "  - {name: node1, address: 198.51.100.11, roles: []}")))
        #expect(error.message.hasPrefix("hosts[0].roles: needs at least one role"))
    }

    @Test func invalidClusterNameIsRefused() throws {
        let error = try #require(parseError("cluster: Demo_1\nhosts: []\n"))
        #expect(error.message.hasPrefix("cluster: invalid cluster name"))
    }

    @Test func unreadableIdentityFileIsNamedWithWhatToDo() throws {
        let error = try #require(parseError(minimalInventory(extra: "ssh: {identity_files: [keys/missing]}"), directory: "/nonexistent"))
        #expect(error.message.contains("ssh.identity_files[0]: cannot read identity file /nonexistent/keys/missing"))
        #expect(error.hint?.contains("ssh-keygen") == true)
    }

    @Test func identityFileReadableByOthersIsRefusedLikeOpenSSHDoes() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("id_ed25519", "key", mode: 0o644)
        let error = try #require(parseError(minimalInventory(extra: "ssh: {identity_files: [id_ed25519]}"), directory: scratch.path))
        #expect(error.message.contains("is accessible by others (mode 644)"))
        #expect(error.hint?.hasPrefix("chmod 600 ") == true)
    }

    @Test func quotedBooleansAreAccepted() throws {
        #expect(try parseInventory(minimalInventory(extra: "ssh: {agent: \"false\"}")).ssh.agent == false)
    }

    @Test func wrongTypeSaysWhatWasExpected() throws {
        let error = try #require(parseError(minimalInventory(extra: "ssh: {port: twenty-two}")))
        #expect(error.message.contains("ssh.port: expected a port 1..65535, got 'twenty-two'"))
    }

    @Test func secretsAreNamedByVariableNotValue() throws {
        let error = try #require(parseError(minimalInventory(extra: "ssh: {password_env: 'hunter 2'}")))
        #expect(error.message.contains("is not an environment variable name"))
    }
}
