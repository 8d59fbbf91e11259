import ClusterupCore
import ClusterupVerify
import Foundation
import Testing

/// `verify`'s judgement of what hosts report. Canned script output, no SSH.
@Suite struct VerifyChecksTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18

    func inventory(backend: VRRPSettings.Backend = .clusterupVRRPD) -> Inventory {
        let roles: Set<Role> = [.etcd, .controlPlane, .lb]
        var inventory = Inventory(
            path: "/tmp/inventory.yml", cluster: "test", ssh: SSHSettings(),
            hosts: ["node1", "node2"].enumerated().map { InventoryHost(name: $1, address: "198.51.100.\($0 + 10)", roles: roles) },
            pki: PKISettings(directory: "/tmp/pki"))
        inventory.vip = VIPSettings(address: "198.51.100.62")
        inventory.vrrp = VRRPSettings(backend: backend, interface: "host0")
        return inventory
    }

    /// Both members as `endpoint status --cluster -w json` prints them (etcdctl 3.4): node1 (ID 1)
    /// leads at raft index 5000.
    func etcdStatus(alarm: Bool, node2Applied: Int) -> String {
        let errors = alarm ? #","errors":["memberID:2 alarm:NOSPACE "]"# : ""
        return #"[{"Endpoint":"https://198.51.100.10:2379","Status":{"header":{"member_id":1,"revision":9},"dbSize":4096,"leader":1,"raftIndex":5000,"raftAppliedIndex":5000"#
            + errors + #","dbSizeInUse":2048}},{"Endpoint":"https://198.51.100.11:2379","Status":{"header":{"member_id":2,"revision":9},"dbSize":4096,"leader":1,"raftIndex":5000,"raftAppliedIndex":"#
            + "\(node2Applied)" + errors + #","dbSizeInUse":2048}}]"#
    }

    func output(holdsVIP: Bool = false, haproxy: String = "UP", etcdExit: Int = 0, vrrpd: String = "active",
                notAfter: String = "Nov 18 05:51:20 2027 GMT", alarm: Bool = false, node2Applied: Int = 4999, snapshotAge: Int? = nil) -> String {
        """
        @@addr
        1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
        2: host0    inet 198.51.100.10/26 brd 198.51.100.63 scope global host0\\       valid_lft forever
        \(holdsVIP ? "2: host0    inet 198.51.100.62/26 scope global secondary host0\\       valid_lft forever" : "")
        @@units
        etcd.service\tactive
        kube-apiserver.service\tactive
        kube-controller-manager.service\tactive
        kube-scheduler.service\tactive
        haproxy.service\tactive
        clusterup-vrrpd.service\t\(vrrpd)
        @@certs
        /etc/kubernetes/pki/apiserver.crt\tnotAfter=\(notAfter)
        /etc/kubernetes/pki/etcd/ca.crt\tnotAfter=Nov 16 05:51:20 2036 GMT
        @@haproxy
        # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight
        kube-apiservers,node1,0,0,0,1,,5,0,0,,0,,0,0,0,0,\(haproxy),1
        kube-apiservers,node2,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP 2/3,1
        kube-apiservers,BACKEND,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP,2
        @@etcd
        https://127.0.0.1:2379 is healthy: successfully committed proposal: took = 1.9ms
        exit=\(etcdExit)
        @@etcdstatus
        \(etcdStatus(alarm: alarm, node2Applied: node2Applied))
        @@snapshot
        1795000000
        \(snapshotAge.map { "\(1_795_000_000 - $0)" } ?? "")
        @@vrrpd
        {"daemon":{"config":"/etc/clusterup/vrrpd.yaml"},"instances":[{"name":"vi_51","vrid":51,"priority":254,"state":"\(holdsVIP ? "master" : "backup")","vips":["198.51.100.62/26"],"vips_installed":[],"effective_priority":254}]}
        """
    }

    func evaluate(_ first: String, _ second: String, backend: VRRPSettings.Backend = .clusterupVRRPD,
                  snapshots: EtcdSnapshotSchedule? = nil) -> [CheckResult] {
        var inventory = inventory(backend: backend)
        inventory.deploy.etcd.snapshots = snapshots
        return VerifyEvaluator(inventory: inventory, now: Self.now, expiryDays: 30).evaluate([
            (inventory.hosts[0], .success(HostSurvey.parse(first))),
            (inventory.hosts[1], .success(HostSurvey.parse(second))),
        ])
    }

    @Test func aHealthyClusterPassesEveryCheck() {
        let results = evaluate(output(holdsVIP: true), output())
        #expect(results.filter { !$0.ok }.isEmpty, "\(results.filter { !$0.ok })")
        #expect(Set(results.map(\.check)) == ["ssh", "services", "certificates", "etcd", "etcd alarms", "etcd lag", "haproxy", "vip"])
        #expect(results.first { $0.check == "vip" }?.detail == "198.51.100.62 held by node1")
    }

    @Test func twoHoldersOfTheVIPIsSplitBrain() throws {
        let vip = try #require(evaluate(output(holdsVIP: true), output(holdsVIP: true)).first { $0.check == "vip" })
        #expect(!vip.ok)
        #expect(vip.detail == "split brain: 198.51.100.62 held by node1, node2")
    }

    @Test func noHolderOfTheVIPFails() throws {
        let vip = try #require(evaluate(output(), output()).first { $0.check == "vip" })
        #expect(!vip.ok)
        #expect(vip.detail == "no lb host holds 198.51.100.62")
    }

    @Test func aCertificateExpiringWithinTheWindowFails() throws {
        let results = evaluate(output(holdsVIP: true, notAfter: "Dec  1 00:00:00 2026 GMT"), output())
        let certificates = try #require(results.first { $0.check == "certificates" && $0.host == "node1" })
        #expect(!certificates.ok)
        #expect(certificates.detail.hasPrefix("apiserver.crt expires in 12 day(s) (2026-12-01)"))
    }

    @Test func anExpiredCertificateFails() throws {
        let results = evaluate(output(holdsVIP: true, notAfter: "Jan  1 00:00:00 2026 GMT"), output())
        let certificates = try #require(results.first { $0.check == "certificates" && $0.host == "node1" })
        #expect(certificates.detail.hasPrefix("apiserver.crt expired 2026-01-01"))
    }

    @Test func aBackendNotUpInHAProxyFails() throws {
        let results = evaluate(output(holdsVIP: true, haproxy: "DOWN"), output())
        let haproxy = try #require(results.first { $0.check == "haproxy" && $0.host == "node1" })
        #expect(!haproxy.ok)
        #expect(haproxy.detail == "not up: node1 (DOWN)")
    }

    @Test func anUnhealthyEtcdMemberFails() throws {
        let results = evaluate(output(holdsVIP: true), output(etcdExit: 1))
        let etcd = try #require(results.first { $0.check == "etcd" && $0.host == "node2" })
        #expect(!etcd.ok)
    }

    @Test func anActiveEtcdAlarmFailsOnEveryEtcdHost() throws {
        let results = evaluate(output(holdsVIP: true, alarm: true), output(alarm: true))
        let alarms = results.filter { $0.check == "etcd alarms" }
        #expect(alarms.count == 2 && alarms.allSatisfy { !$0.ok }, "\(alarms)")
        #expect(alarms.first?.detail.contains("NOSPACE") == true)
    }

    @Test func aMemberLaggingBehindTheLeaderFails() throws {
        let results = evaluate(output(holdsVIP: true, node2Applied: 3000), output(node2Applied: 3000))
        let lag = try #require(results.first { $0.check == "etcd lag" && $0.host == "node2" })
        #expect(!lag.ok)
        #expect(lag.detail.hasPrefix("2000 raft entries behind"), "\(lag.detail)")
        #expect(results.first { $0.check == "etcd lag" && $0.host == "node1" }?.ok == true, "the leader is not behind itself")
    }

    @Test func anOldSnapshotWarnsWithoutFailing() throws {
        let schedule = EtcdSnapshotSchedule(every: .hours(1))
        let results = evaluate(output(holdsVIP: true, snapshotAge: 3 * 3600), output(snapshotAge: 600), snapshots: schedule)
        let old = try #require(results.first { $0.check == "etcd snapshot" && $0.host == "node1" })
        #expect(old.ok && old.warning, "\(old)")
        #expect(old.detail.contains("older than twice"))
        let fresh = try #require(results.first { $0.check == "etcd snapshot" && $0.host == "node2" })
        #expect(fresh.ok && !fresh.warning, "\(fresh)")
        // Without a schedule, no snapshot check.
        #expect(!evaluate(output(holdsVIP: true), output()).contains { $0.check == "etcd snapshot" })
        // Scheduled but none taken yet: a warning too.
        let none = evaluate(output(holdsVIP: true), output(), snapshots: schedule).filter { $0.check == "etcd snapshot" }
        #expect(none.count == 2 && none.allSatisfy { $0.ok && $0.warning }, "\(none)")
    }

    @Test func anInactiveVRRPDaemonFailsTheServicesCheck() throws {
        let results = evaluate(output(holdsVIP: true), output(vrrpd: "failed"))
        let services = try #require(results.first { $0.check == "services" && $0.host == "node2" })
        #expect(services.detail == "not active: clusterup-vrrpd.service (failed)")
    }

    @Test func theKeepalivedBackendExpectsKeepalivedActive() {
        let host = inventory().hosts[0]
        #expect(ExpectedServices.units(for: host, backend: .keepalived).contains("keepalived.service"))
        #expect(!ExpectedServices.units(for: host, backend: .keepalived).contains("clusterup-vrrpd.service"))
    }

    @Test func anUnreachableHostFailsSSHAndIsNotCountedAsAHolder() throws {
        let inventory = inventory()
        let results = VerifyEvaluator(inventory: inventory, now: Self.now, expiryDays: 30).evaluate([
            (inventory.hosts[0], .success(HostSurvey.parse(output(holdsVIP: true)))),
            (inventory.hosts[1], .failure(.remote("connection refused", host: "node2"))),
        ])
        #expect(results.first { $0.check == "ssh" && $0.host == "node2" }?.ok == false)
        let vip = try #require(results.first { $0.check == "vip" })
        #expect(vip.detail == "198.51.100.62 held by node1 (not reachable, not counted: node2)")
    }

    @Test func theSurveyReadsTheVRRPDaemonsOwnState() {
        #expect(HostSurvey.parse(output(holdsVIP: true)).vrrpStates == ["master"])
    }

    @Test func openSSLDatesWithSpacePaddedDaysParse() {
        #expect(HostSurvey.parseOpenSSLDate("Dec  1 00:00:00 2026 GMT") == Date(timeIntervalSince1970: 1_796_083_200))
        #expect(HostSurvey.parseOpenSSLDate("not a date") == nil)
    }
}
