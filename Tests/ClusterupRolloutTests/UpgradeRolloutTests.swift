import ClusterupDeploy
import ClusterupNodes
import ClusterupRollout
import Testing

/// The planner's steps grouped into the rollout's turns, with the guard each turn needs.
struct UpgradeRolloutTests {
    static let hosts = ["node1", "node2", "node3"]
    static let oldBuild = String(repeating: "a", count: 64), newBuild = String(repeating: "b", count: 64)

    func facts(kube: String = "v1.31.2", etcd: String = "3.4.23", leader: String = "node2", holder: String = "node1") -> UpgradeFacts {
        UpgradeFacts(hosts: Self.hosts.map { host in
            HostVersions(host: host, installed: [
                .etcd: InstalledVersion(text: "etcd Version: \(etcd)"),
                .kubeAPIServer: InstalledVersion(text: "Kubernetes \(kube)"),
                .kubeControllerManager: InstalledVersion(text: "Kubernetes \(kube)"),
                .kubeScheduler: InstalledVersion(text: "Kubernetes \(kube)"),
                .haproxy: InstalledVersion(text: "HAProxy version 2.6.12-1+deb12u1 2023/12/16"),
                .clusterupVRRPD: InstalledVersion(text: "clusterup-vrrpd 0.1.0", build: Self.oldBuild),
            ])
        }, etcdLeader: leader, vipHolder: holder)
    }

    func request(kube: String? = nil, etcd: String? = nil, haproxy: String? = nil, vrrpd: String? = nil) -> UpgradeRequest {
        var wanted: [UpgradeComponent: WantedVersion] = [:]
        for component in UpgradeComponent.allCases { wanted[component] = .unknown("not declared in this test") }
        if let kube {
            for component in [UpgradeComponent.kubeAPIServer, .kubeControllerManager, .kubeScheduler] {
                wanted[component] = .version(ComponentVersion(parsing: kube)!, from: "control_plane.version")
            }
        }
        if let etcd { wanted[.etcd] = .version(ComponentVersion(parsing: etcd)!, from: "artifacts.etcd.version") }
        if let haproxy { wanted[.haproxy] = .version(ComponentVersion(parsing: haproxy)!, from: "artifacts.haproxy.version") }
        if let vrrpd { wanted[.clusterupVRRPD] = .build(sha256: vrrpd, from: "test") }
        return UpgradeRequest(wanted: wanted, vrrpPriorities: ["node1": 150, "node2": 100, "node3": 50], preempt: true)
    }

    func turns(_ rollout: UpgradeRollout) -> [String] {
        rollout.turns.map { turn in
            "\(turn.rolling.host) \(turn.rolling.guarding.rawValue): " + turn.installs.map(\.component.rawValue).joined(separator: "+")
        }
    }

    @Test func everyComponentAtOnce() throws {
        let plan = try UpgradePlanner.plan(request(kube: "v1.32.0", etcd: "3.5.16", haproxy: "2.8.5", vrrpd: Self.newBuild), facts: facts())
        let rollout = UpgradeRollout(plan)
        // The snapshot on the leader before anything else.
        #expect(rollout.snapshot?.host == "node2" && rollout.snapshot?.action == .snapshot)
        #expect(turns(rollout) == [
            // etcd followers first, the leader (node2) last; its guard moves leadership.
            "node1 etcd-member: etcd", "node3 etcd-member: etcd", "node2 etcd-member: etcd",
            // apiservers one host at a time, drained.
            "node1 drain-apiserver: kube-apiserver", "node2 drain-apiserver: kube-apiserver", "node3 drain-apiserver: kube-apiserver",
            // controllers after every apiserver.
            "node1 none: kube-controller-manager", "node1 none: kube-scheduler",
            "node2 none: kube-controller-manager", "node2 none: kube-scheduler",
            "node3 none: kube-controller-manager", "node3 none: kube-scheduler",
            // the VIP backups first, both lb components in one turn; the holder (node1) last.
            "node2 hand-over-vip: haproxy+clusterup-vrrpd", "node3 hand-over-vip: haproxy+clusterup-vrrpd",
            "node1 hand-over-vip: haproxy+clusterup-vrrpd",
        ])
        #expect(rollout.components == [.etcd, .kubeAPIServer, .kubeControllerManager, .kubeScheduler, .haproxy, .clusterupVRRPD])
        #expect(rollout.turns[3].rolling.name == "kube-apiserver upgrade v1.31.2 → v1.32.0")
        #expect(rollout.turns[12].rolling.name.hasPrefix("haproxy upgrade 2.6.12-1+deb12u1 → 2.8.5, clusterup-vrrpd upgrade"))
    }

    @Test func aResumedPlanHasTurnsOnlyForHostsLeft() throws {
        // node1's apiserver is done (an interrupted run): the plan and the turns skip it.
        var facts = facts()
        facts.hosts[0].installed[.kubeAPIServer] = InstalledVersion(text: "Kubernetes v1.32.0")
        let rollout = UpgradeRollout(try UpgradePlanner.plan(request(kube: "v1.32.0"), facts: facts))
        #expect(rollout.snapshot == nil)
        #expect(Array(turns(rollout).prefix(2)) == ["node2 drain-apiserver: kube-apiserver", "node3 drain-apiserver: kube-apiserver"])
        #expect(turns(rollout).count == 2 + 6)
    }

    @Test func onlyTheHoldersHAProxyStillGetsAHandOverTurn() throws {
        var facts = facts()
        for index in [1, 2] { facts.hosts[index].installed[.haproxy] = InstalledVersion(text: "HAProxy version 2.8.5 2024/01/01") }
        let rollout = UpgradeRollout(try UpgradePlanner.plan(request(haproxy: "2.8.5"), facts: facts))
        #expect(turns(rollout) == ["node1 hand-over-vip: haproxy"])
    }

    @Test func aHolderWhoseDaemonRestartsInPlaceHasAnUnguardedTurn() throws {
        var facts = facts()
        for index in facts.hosts.indices { facts.hosts[index].vrrpdRestartsInPlace = true }
        let rollout = UpgradeRollout(try UpgradePlanner.plan(request(vrrpd: Self.newBuild), facts: facts))
        // The backups keep their turn (the daemon must be back before the next host); the holder
        // needs no hand-over: it stays Master through its restart.
        #expect(turns(rollout) == ["node2 hand-over-vip: clusterup-vrrpd", "node3 hand-over-vip: clusterup-vrrpd", "node1 none: clusterup-vrrpd"])
    }

    @Test func nothingToDoIsNoTurn() throws {
        let rollout = UpgradeRollout(try UpgradePlanner.plan(request(kube: "v1.31.2"), facts: facts()))
        #expect(rollout.turns.isEmpty && rollout.snapshot == nil)
    }
}
