import ClusterupNodes
import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy

@Suite struct StatusParsingTests {
    @Test func probeSectionsSplitAtMarkerLinesAndKeepTheirArgument() {
        let sections = ProbeSections("@@units\nunit\ta\tactive\tenabled\n@@cert /etc/x.crt\nline1\nline2\n@@addr\n")
        #expect(sections.sections.map(\.name) == ["units", "cert", "addr"])
        #expect(sections.first("cert")?.argument == "/etc/x.crt")
        #expect(sections.first("cert")?.body == "line1\nline2\n")
        #expect(sections.first("addr")?.body == "")
    }

    @Test func vrrpdStatusGivesEachInstancesStateAndInstalledVIPs() throws {
        let json = """
            {"daemon": {"config": "/etc/clusterup/vrrpd.yaml", "uptime_ms": 5, "reloads": 0},
             "instances": [{"name": "demo-vip", "interface": "eth0", "vrid": 52, "version": 3, "state": "Master",
                            "priority": 254, "effective_priority": 254, "master_address": null,
                            "vips": ["198.51.100.62/26"], "vips_installed": ["198.51.100.62/26"]}]}
            """
        let instances = try VRRPInstanceStatus.parse(json, host: "node1")
        #expect(instances.count == 1)
        #expect(instances[0].state == "Master")
        #expect(instances[0].vrid == 52)
        #expect(instances[0].vipsInstalled == ["198.51.100.62/26"])
        #expect(instances[0].masterAddress == nil)
    }

    @Test func vrrpdErrorTextIsARemoteErrorNamingTheHost() {
        #expect(throws: ClusterupError.self) { try VRRPInstanceStatus.parse("cannot connect to /run/clusterup-vrrpd.sock", host: "node2") }
        do { _ = try VRRPInstanceStatus.parse("oops", host: "node2") } catch { #expect("\(error)".contains("node2")) }
    }

    @Test func etcdEndpointHealthReadsHealthyAndUnhealthyEndpoints() throws {
        // etcdctl 3.4 prints the JSON array even when it exits 1, then an error line.
        let output = """
            [{"endpoint":"https://198.51.100.12:2379","health":false,"took":"5.0s","error":"context deadline exceeded"},{"endpoint":"https://198.51.100.11:2379","health":true,"took":"9.1ms"}]
            Error: unhealthy cluster
            """
        let health = try EtcdEndpointHealth.parseList(output, host: "node1")
        #expect(health.map(\.endpoint) == ["https://198.51.100.11:2379", "https://198.51.100.12:2379"])
        #expect(health.map(\.healthy) == [true, false])
        #expect(health[1].error == "context deadline exceeded")
    }

    @Test func etcdEndpointHealthWithoutJSONIsAnError() {
        #expect(throws: ClusterupError.self) { try EtcdEndpointHealth.parseList("Error: open ca.crt: no such file", host: "node1") }
    }

    @Test func certificateFarFromExpiryIsOK() throws {
        let notAfter = try #require(InstalledCertificate(path: "/p/ca.crt", pem: selfSignedPEM, now: .distantPast).notAfter)
        let cert = InstalledCertificate(path: "/p/ca.crt", pem: selfSignedPEM, now: notAfter.addingTimeInterval(-40 * 86400))
        #expect(cert.status == .ok)
        #expect(cert.subject?.contains("etcd-status-test") == true)
        #expect(cert.daysLeft(now: notAfter.addingTimeInterval(-40 * 86400)) == 40)
    }

    @Test func certificateWithinThirtyDaysIsExpiring() throws {
        let notAfter = try #require(InstalledCertificate(path: "/p/ca.crt", pem: selfSignedPEM, now: .distantPast).notAfter)
        #expect(InstalledCertificate(path: "/p/ca.crt", pem: selfSignedPEM, now: notAfter.addingTimeInterval(-10 * 86400)).status == .expiringSoon)
    }

    @Test func certificatePastNotAfterIsExpired() throws {
        let notAfter = try #require(InstalledCertificate(path: "/p/ca.crt", pem: selfSignedPEM, now: .distantPast).notAfter)
        let cert = InstalledCertificate(path: "/p/ca.crt", pem: selfSignedPEM, now: notAfter.addingTimeInterval(1))
        #expect(cert.status == .expired)
        #expect(cert.statusText.hasPrefix("EXPIRED"))
    }

    @Test func garbageInACertificateFileIsUnreadableNotACrash() {
        let cert = InstalledCertificate(path: "/p/bad.crt", pem: "not a certificate", now: Date())
        #expect(cert.status == .unreadable)
        #expect(cert.notAfter == nil)
    }

    @Test func hostProbeOutputBecomesUnitsVIPBackendsCertificatesAndVersions() throws {
        let inventory = try operationsInventory()
        let host = try #require(inventory.host(named: "node1"))
        let output = """
            @@units
            unit\thaproxy.service\tactive\tenabled
            unit\tetcd.service\tfailed\tenabled
            @@addr
            2: eth0    inet 198.51.100.62/26 scope global secondary eth0
            @@vrrpd
            {"instances": [{"name": "demo-vip", "vrid": 52, "state": "Master", "priority": 254}]}
            @@haproxy
            # pxname,svname,qcur,status,
            kube-apiservers,node1,0,UP,
            kube-apiservers,node2,0,DOWN,
            kube-apiservers,BACKEND,0,UP,
            @@cert /etc/kubernetes/pki/ca.crt
            \(selfSignedPEM)
            @@version etcd
            etcd Version: 3.4.23
            Git SHA: Not provided
            @@version kube-scheduler
            sh: 1: kube-scheduler: not found
            """
        let status = try StatusProbe.parse(output, host: host, inventory: inventory, now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(status.units["etcd.service"]?.active == "failed")
        #expect(status.holdsVIP == true)
        #expect(status.vrrp.map(\.state) == ["Master"])
        #expect(status.haproxyBackends == ["node1": "UP", "node2": "DOWN", "node3": "absent"])
        #expect(status.certificates.map(\.path) == ["/etc/kubernetes/pki/ca.crt"])
        #expect(status.versions["etcd"] == "etcd Version: 3.4.23")
        #expect(status.versions["kube-scheduler"] == "not installed")
    }

    @Test func anLBHostWithoutTheVIPDoesNotHoldIt() throws {
        let inventory = try operationsInventory()
        let host = try #require(inventory.host(named: "node2"))
        let status = try StatusProbe.parse("@@units\n@@addr\n@@haproxy\n", host: host, inventory: inventory, now: Date())
        #expect(status.holdsVIP == false)
        // No answer from the stats endpoint is not three "absent" backends: the unit state says why.
        #expect(status.haproxyBackends.isEmpty)
    }

    @Test func aClusterWithTwoVIPHoldersIsAProblem() {
        var a = HostStatus(name: "node1", roles: ["lb"])
        a.holdsVIP = true
        var b = HostStatus(name: "node2", roles: ["lb"])
        b.holdsVIP = true
        let status = ClusterStatus(hosts: [a, b], etcd: nil, vip: "198.51.100.62")
        #expect(status.problems == ["2 hosts hold the VIP 198.51.100.62: node1, node2"])
    }

    @Test func aHealthyClusterHasNoProblems() {
        var a = HostStatus(name: "node1", roles: ["lb"])
        a.holdsVIP = true
        a.units = ["haproxy.service": .init(active: "active", enabled: "enabled")]
        a.haproxyBackends = ["node1": "UP"]
        var b = HostStatus(name: "node2", roles: ["lb"])
        b.holdsVIP = false
        let etcd = EtcdStatus(queriedOn: "node1", members: [], health: [.init(endpoint: "https://x:2379", healthy: true)])
        #expect(ClusterStatus(hosts: [a, b], etcd: etcd, vip: "198.51.100.62").problems.isEmpty)
    }

    @Test func theStatusProbeAsksOnlyForWhatTheHostsRolesRun() throws {
        let inventory = try operationsInventory()
        let host = try #require(inventory.host(named: "node1"))
        let script = StatusProbe.script(for: host, inventory: inventory, settings: inventory.deploy)
        #expect(script.contains("etcd.service"))
        #expect(script.contains("clusterup-vrrpd.service"))
        #expect(!script.contains("keepalived.service"))
        #expect(script.contains("timeout 5 /usr/local/bin/clusterup-vrrpd status"))
        #expect(script.contains("127.0.0.1:8404/stats;csv"))
    }
}

@Suite struct RemoteCertificateComparisonTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aCertificateRenewedLocallyButNotDeployedIsOutdated() {
        let installed = [InstalledCertificate(path: "/etc/kubernetes/pki/ca.crt", pem: selfSignedPEM, now: now)]
        let compared = RemoteCertificates.compare(installed, expected: ["/etc/kubernetes/pki/ca.crt": "-----BEGIN CERTIFICATE-----\nother\n"])
        #expect(compared.map(\.status) == [.outdated])
    }

    @Test func theSameCertificateAsTheLocalPKIStaysOKWhateverTheTrailingNewline() {
        let installed = [InstalledCertificate(path: "/etc/kubernetes/pki/ca.crt", pem: selfSignedPEM + "\n", now: now)]
        let compared = RemoteCertificates.compare(installed, expected: ["/etc/kubernetes/pki/ca.crt": selfSignedPEM])
        #expect(compared.map(\.status) == [.ok])
    }

    @Test func aCertificateTheNodeShouldHaveButLacksIsMissing() {
        let compared = RemoteCertificates.compare([], expected: ["/etc/kubernetes/pki/apiserver.crt": selfSignedPEM])
        #expect(compared.map(\.path) == ["/etc/kubernetes/pki/apiserver.crt"])
        #expect(compared.map(\.status) == [.missing])
    }

    @Test func aCertificateFileWithoutFinalNewlineDoesNotSwallowTheNextOne() {
        #expect(StatusProbe.certificatesScript().contains(#"[ -z "$(tail -c 1 "$f")" ] || echo"#))
    }
}
