import Foundation
import Testing
@testable import ClusterupCore
import TestSupport

private let threeLB = DemoInventory.hostsYAML([DemoInventory.allRoles, DemoInventory.allRoles, [.etcd, .controlPlane]])

@Suite struct VIPAndVRRPTests {
    @Test func vipDefaultsPrefixByFamilyAndPort() throws {
        let v4 = try parseInventory(minimalInventory(extra: "vip: {address: 198.51.100.62}"))
        #expect(v4.vip == VIPSettings(address: "198.51.100.62", prefix: 32, port: 8443))
        let v6 = try parseInventory(minimalInventory(extra: "vip: {address: \"2001:db8::62\", dns_name: k8s.example.internal}"))
        #expect(v6.vip?.prefix == 128)
        #expect(v6.vip?.dnsName == "k8s.example.internal")
    }

    @Test func vipMustBeAnIPLiteral() throws {
        let error = try #require(parseError(minimalInventory(extra: "vip: {address: k8s.example}")))
        #expect(error.message.hasPrefix("vip.address: the VIP must be an IPv4 or IPv6 address"))
    }

    @Test func vipMayNotBeAHostsAddress() throws {
        let error = try #require(parseError(minimalInventory(extra: "vip: {address: 198.51.100.11}")))
        #expect(error.message.contains("(host node1)"))
    }

    @Test func vipPort6443ClashesWithAnApiserverOnAnLBHost() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: """
            vip: {address: 198.51.100.62, port: 6443}
            vrrp: {interface: eth0}
            """)))
        #expect(error.message.contains("host node1"))
        #expect(error.hint?.contains("8443") == true)
    }

    @Test func vrrpDefaultsMatchTheSchema() throws {
        let vrrp = try #require(try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0}")).vrrp)
        #expect(vrrp.backend == .clusterupVRRPD)
        #expect(vrrp.vrid == 51)
        #expect(vrrp.version == 3)
        #expect(vrrp.advertInterval == .milliseconds(100))
        #expect(vrrp.preempt)
        #expect(vrrp.preemptDelay == .zero)
        #expect(!vrrp.unicast)
        #expect(vrrp.checksum == .pseudoHeader)
        #expect(vrrp.authPassword == nil)
        #expect(vrrp.garp == .init(repeatCount: 5, delay: .zero, refresh: .zero))
        #expect(vrrp.track.isEmpty)
    }

    @Test func vrrpV2DefaultsToOneSecondAdverts() throws {
        let vrrp = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, version: 2}")).vrrp
        #expect(vrrp?.advertInterval == .seconds(1))
    }

    @Test func lbHostsRequireAnInterface() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {vrid: 7}")))
        #expect(error.message.contains("missing 'interface'"))
        #expect(error.message.contains("node1, node2"))
        let noSection = try #require(parseError(minimalInventory(hosts: threeLB)))
        #expect(noSection.message.hasPrefix("hosts[0].roles[2]: lb hosts need a 'vrrp' section"))
    }

    @Test func vrrpV2IntervalMustBeWholeSeconds() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, version: 2, advert_interval: 100ms}")))
        #expect(error.message.hasPrefix("vrrp.advert_interval: VRRPv2 advertisement intervals are whole seconds"))
    }

    @Test func vrrpV3IntervalIsCentiseconds() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, advert_interval: 15ms}")))
        #expect(error.message.contains("multiples of 10ms"))
    }

    @Test func authPasswordOnlyWithVersion2AndAtMostEightBytes() throws {
        let v3 = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, auth_password: secret}")))
        #expect(v3.message.contains("VRRPv2 only"))
        let long = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, version: 2, auth_password: longsecret}")))
        #expect(long.message.contains("at most 8 bytes"))
        let ok = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, version: 2, auth_password: secret}"))
        #expect(ok.vrrp?.authPassword == "secret")
    }

    @Test(arguments: ["\"a#b\"", "\"a!b\"", "\"a b\"", "\"a'b\""])
    func authPasswordsKeepalivedWouldCutAreRefused(password: String) throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, version: 2, auth_password: \(password)}")))
        #expect(error.message.contains("vrrp.auth_password"))
        #expect(error.hint?.contains("keepalived cuts") == true)
    }

    @Test(arguments: [
        ("{http: \"https://127.0.0.1:6443/readyz\\\" -o /etc/x \\\"\"}", "vrrp.track.http"),
        ("{http: \"https://127.0.0.1:6443/ready z\"}", "vrrp.track.http"),
        ("{scripts: [{name: \"a b\", command: pidof haproxy}]}", "vrrp.track.scripts[0].name"),
    ])
    func trackValuesThatWouldSpillIntoConfigurationAreRefused(track: String, field: String) throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, track: \(track)}")))
        #expect(error.message.contains(field), "\(error.message)")
        #expect(error.kind == .badInput)
    }

    @Test func checksumModeOnlyWithVersion3() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, version: 2, checksum: message-only}")))
        #expect(error.message.contains("VRRPv3 only"))
        let ok = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, checksum: message-only}"))
        #expect(ok.vrrp?.checksum == .messageOnly)
    }

    @Test func realtimePriorityDefaultsTo10AndTakes0To99() throws {
        let defaulted = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0}"))
        #expect(defaulted.vrrp?.realtimePriority == 10)
        let off = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, realtime_priority: 0}"))
        #expect(off.vrrp?.realtimePriority == 0)
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, realtime_priority: 100}")))
        #expect(error.message.contains("vrrp.realtime_priority"), "\(error.message)")
        #expect(error.message.contains("realtime priority"), "\(error.message)")
        #expect(error.location?.hasPrefix("inv.yml:") == true, "\(error.location ?? "")")
    }

    @Test func version2CannotCarryAnIPv6VIP() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: """
            vip: {address: "2001:db8::62"}
            vrrp: {interface: eth0, version: 2}
            """)))
        #expect(error.message.contains("VRRPv2 carries IPv4 only"))
    }

    @Test func defaultPrioritiesCountDownFrom254InHostOrder() throws {
        let inventory = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0}"))
        #expect(inventory.vrrpPriorities == ["node1": 254, "node2": 253])
    }

    @Test func explicitPrioritiesWinAndTheRestSkipTakenValues() throws {
        let inventory = try parseInventory(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, priorities: {node2: 254}}"))
        #expect(inventory.vrrpPriorities == ["node1": 253, "node2": 254])
    }

    @Test func priorityForUnknownHostSuggestsTheName() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, priorities: {nod1: 200}}")))
        #expect(error.message == "vrrp.priorities: no host named 'nod1'")
        #expect(error.hint?.hasPrefix("did you mean 'node1'?") == true)
    }

    @Test func priorityForNonLBHostIsRefused() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, priorities: {node3: 200}}")))
        #expect(error.message.contains("host 'node3' has no lb role"))
        #expect(error.hint?.contains("node1, node2") == true)
    }

    @Test(arguments: [0, 255])
    func priorityOutsideOneTo254IsRefused(priority: Int) throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, priorities: {node1: \(priority)}}")))
        #expect(error.message.contains("vrrp.priorities.node1: \(priority) is out of range"))
    }

    @Test func trackScriptsInheritTheTrackTiming() throws {
        let vrrp = try #require(try parseInventory(minimalInventory(hosts: threeLB, extra: """
            vrrp:
              interface: eth0
              track:
                tcp: 127.0.0.1:8443
                interval: 2s
                fall: 3
                scripts: [{name: haproxy, command: pidof haproxy, weight: -20}]
                interfaces: [eth0]
            """)).vrrp)
        #expect(vrrp.track.tcp == "127.0.0.1:8443")
        #expect(vrrp.track.scripts == [.init(name: "haproxy", command: "pidof haproxy", interval: .seconds(2), timeout: .seconds(1), rise: 2, fall: 3, weight: -20)])
        #expect(vrrp.track.interfaces == ["eth0"])
    }

    @Test func unknownBackendListsTheBackends() throws {
        let error = try #require(parseError(minimalInventory(hosts: threeLB, extra: "vrrp: {interface: eth0, backend: keepalive}")))
        #expect(error.hint?.hasPrefix("did you mean 'keepalived'?") == true)
    }
}

@Suite struct PKISettingsTests {
    @Test func pkiSectionIsRead() throws {
        let pki = try parseInventory(minimalInventory(extra: """
            pki:
              directory: certs
              algorithm: rsa-3072
              ca_validity: 87600h
              leaf_validity: 8760h
              renew_before: 720h
              cluster_domain: k8s.internal
              service_cidr: 10.100.0.0/16
              extra_sans: [api.example.com, 203.0.113.10, "*.apps.example.com"]
            """)).pki
        #expect(pki.directory == "/srv/cluster/certs")
        #expect(pki.algorithm == .rsa3072)
        #expect(pki.caValidity == .days(3650))
        #expect(pki.leafValidity == .days(365))
        #expect(pki.renewBefore == .days(30))
        #expect(pki.clusterDomain == "k8s.internal")
        #expect(pki.serviceCIDR == "10.100.0.0/16")
        #expect(pki.extraSANs == ["api.example.com", "203.0.113.10", "*.apps.example.com"])
    }

    @Test func renewBeforeMustBeShorterThanTheLeafValidity() throws {
        let error = try #require(parseError(minimalInventory(extra: "pki: {leaf_validity: 30d, renew_before: 30d}")))
        #expect(error.message.hasPrefix("pki.renew_before:"))
    }

    @Test func badServiceCIDRIsRefused() throws {
        let error = try #require(parseError(minimalInventory(extra: "pki: {service_cidr: 10.96.0.0/33}")))
        #expect(error.message.hasPrefix("pki.service_cidr:"))
    }

    @Test(arguments: ["pki: {cluster_domain: cluster.local.}", "pki: {extra_sans: [api.example.com.]}"])
    func certificateNamesEndingInTheRootDotAreRefused(section: String) throws {
        let error = try #require(parseError(minimalInventory(extra: section)))
        #expect(error.message.contains("ends in a dot"))
        #expect(error.hint?.contains("without the root dot") == true)
    }

    @Test func externalCAFilesMustBeReadable() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("ca.crt", "cert")
        let error = try #require(parseError(minimalInventory(extra: "pki: {external_ca: {cert: ca.crt, key: ca.key}}"), directory: scratch.path))
        #expect(error.message.contains("pki.external_ca.key: cannot read CA key"))
        try scratch.write("ca.key", "key")
        let pki = try parseInventory(minimalInventory(extra: "pki: {external_ca: {cert: ca.crt, key: ca.key, passphrase_env: CA_PASS}}"), directory: scratch.path).pki
        #expect(pki.externalCA?.passphraseEnvironmentVariable == "CA_PASS")
        #expect(pki.externalCA?.certificatePath.hasSuffix("/ca.crt") == true)
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("1s", Duration.seconds(1)), ("100ms", .milliseconds(100)), ("365d", .days(365)),
        ("8760h", .hours(8760)), ("5m", .seconds(300)), ("0", .zero), ("0ms", .zero),
    ])
    func parsesWholeNumbersWithUnits(text: String, expected: Duration) {
        #expect(Duration(inventoryText: text) == expected)
    }

    @Test(arguments: ["", "s", "1", "1.5s", "-1s", "10 parsecs", "1sec", "99999999999999999999d"])
    func refusesAnythingElse(text: String) {
        #expect(Duration(inventoryText: text) == nil)
    }

    @Test func printsTheLargestExactUnit() {
        #expect(Duration.days(365).inventoryText == "365d")
        #expect(Duration.hours(25).inventoryText == "25h")
        #expect(Duration.milliseconds(1500).inventoryText == "1500ms")
        #expect(Duration.zero.inventoryText == "0s")
    }
}

@Suite struct NameMatchingTests {
    @Test func editDistanceCountsSingleEdits() {
        #expect(editDistance("etc", "etcd") == 1)
        #expect(editDistance("adress", "address") == 1)
        #expect(editDistance("kitten", "sitting") == 3)
        #expect(editDistance("", "abc") == 3)
    }

    @Test func closestMatchIgnoresFarCandidates() {
        #expect(closestMatch(to: "contol-plane", among: Role.names) == "control-plane")
        #expect(closestMatch(to: "database", among: Role.names) == nil)
    }

    @Test func networkAddressNormalisesIPv6AndDNSCase() {
        #expect(NetworkAddress("2001:db8::1") == NetworkAddress("2001:DB8:0:0::1"))
        #expect(NetworkAddress("Node1.Example.") == NetworkAddress("node1.example"))
        #expect(NetworkAddress("198.51.100.256") == nil)
    }
}
