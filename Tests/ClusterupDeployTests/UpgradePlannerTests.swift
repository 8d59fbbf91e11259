import ClusterupCore
import Testing
@testable import ClusterupDeploy

/// The order of a rolling upgrade, computed from what three all-role hosts have.
@Suite struct UpgradePlannerTests {
    static let hosts = ["node1", "node2", "node3"]
    static let vrrpdOld = String(repeating: "a", count: 64)
    static let vrrpdNew = String(repeating: "b", count: 64)

    /// Three hosts with every role: `kube` per host (apiserver, controller-manager, scheduler
    /// alike unless `controllers` says otherwise), etcd 3.4.23, HAProxy 2.6.12, clusterup-vrrpd's old build.
    func facts(kube: [String], controllers: [String]? = nil, etcd: [String] = ["3.4.23", "3.4.23", "3.4.23"],
               haproxy: [String] = ["2.6.12-1+deb12u1", "2.6.12-1+deb12u1", "2.6.12-1+deb12u1"],
               vrrpd: [String] = [vrrpdOld, vrrpdOld, vrrpdOld], leader: String? = "node2", vipHolder: String? = "node1",
               restartsInPlace: Bool = false) -> UpgradeFacts {
        let hosts = Self.hosts.indices.map { i in
            HostVersions(host: Self.hosts[i], installed: [
                .etcd: InstalledVersion(text: "etcd Version: \(etcd[i])"),
                .kubeAPIServer: InstalledVersion(text: "Kubernetes \(kube[i])"),
                .kubeControllerManager: InstalledVersion(text: "Kubernetes \((controllers ?? kube)[i])"),
                .kubeScheduler: InstalledVersion(text: "Kubernetes \((controllers ?? kube)[i])"),
                .haproxy: InstalledVersion(text: "HAProxy version \(haproxy[i]) 2023/12/16 - https://haproxy.org/"),
                .clusterupVRRPD: InstalledVersion(text: "clusterup-vrrpd 0.1.0", build: vrrpd[i]),
            ], vrrpdRestartsInPlace: restartsInPlace)
        }
        return UpgradeFacts(hosts: hosts, etcdLeader: leader, vipHolder: vipHolder)
    }

    func request(kube: String? = nil, etcd: String? = nil, haproxy: String? = nil, vrrpd: String? = nil, allowDowngrade: Bool = false,
                 priorities: [String: Int] = ["node1": 150, "node2": 100, "node3": 50]) -> UpgradeRequest {
        var wanted: [UpgradeComponent: WantedVersion] = [:]
        for component in UpgradeComponent.allCases { wanted[component] = .unknown("not declared in this test") }
        if let kube {
            for c in [UpgradeComponent.kubeAPIServer, .kubeControllerManager, .kubeScheduler] {
                wanted[c] = .version(ComponentVersion(parsing: kube)!, from: "control_plane.version")
            }
        }
        if let etcd { wanted[.etcd] = .version(ComponentVersion(parsing: etcd)!, from: "artifacts.etcd.version") }
        if let haproxy { wanted[.haproxy] = .version(ComponentVersion(parsing: haproxy)!, from: "artifacts.haproxy.version") }
        if let vrrpd { wanted[.clusterupVRRPD] = .build(sha256: vrrpd, from: "test") }
        return UpgradeRequest(wanted: wanted, allowDowngrade: allowDowngrade, vrrpPriorities: priorities, preempt: true)
    }

    /// `host component action` per step, the shape an operator reads.
    func order(_ plan: UpgradePlan) -> [String] {
        plan.steps.map { "\($0.host) \($0.component.rawValue) \($0.action.rawValue)" }
    }

    static let controllersOnEveryHost = hosts.flatMap { ["\($0) kube-controller-manager upgrade", "\($0) kube-scheduler upgrade"] }

    @Test func everythingAtItsTargetGivesAnEmptyPlan() throws {
        let plan = try UpgradePlanner.plan(request(kube: "v1.31.2", etcd: "3.4.23", haproxy: "2.6.12", vrrpd: Self.vrrpdOld),
                                           facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"]))
        #expect(plan.isEmpty)
        #expect(plan.notes.isEmpty, "\(plan.notes)")
        #expect(plan.components.map(\.component) == [.etcd, .kubeAPIServer, .kubeControllerManager, .kubeScheduler, .haproxy, .clusterupVRRPD])
    }

    @Test func undeclaredVersionsAreSaidAndLeftAlone() throws {
        let plan = try UpgradePlanner.plan(request(kube: "v1.31.2"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"]))
        #expect(plan.isEmpty)
        #expect(plan.notes.count == 3)
        #expect(plan.notes.contains { $0.hasPrefix("etcd: wanted version not declared") })
        #expect(plan.notes.contains { $0.hasPrefix("haproxy: wanted version not declared") })
    }

    @Test func aMinorBumpUpgradesTheApiserversOneHostAtATimeThenTheControllers() throws {
        let plan = try UpgradePlanner.plan(request(kube: "v1.32.0"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"]))
        #expect(order(plan) == Self.hosts.flatMap { ["\($0) kube-apiserver drain", "\($0) kube-apiserver upgrade", "\($0) kube-apiserver undrain"] }
                + Self.controllersOnEveryHost)
        let upgrade = plan.steps[1]
        #expect(upgrade.from == "v1.31.2" && upgrade.to == "v1.32.0")
        #expect(upgrade.check == .apiserverReady(version: "v1.32.0"))
        #expect(plan.steps[0].check == .backendDrained(lbHosts: Self.hosts))
        #expect(plan.steps[2].check == .backendUp(lbHosts: Self.hosts))
        #expect(plan.steps[9].check == .healthz(port: 10257, version: "v1.32.0"))
        #expect(plan.steps[10].check == .healthz(port: 10259, version: "v1.32.0"))
        #expect(plan.steps[9].rule.contains("once every kube-apiserver is at v1.32.0"))
    }

    @Test func aHalfDoneUpgradeResumesWhereItStopped() throws {
        // node1's apiserver and controller-manager made it; node2's apiserver did too.
        var half = facts(kube: ["v1.32.0", "v1.32.0", "v1.31.2"], controllers: ["v1.31.2", "v1.31.2", "v1.31.2"])
        half.hosts[0].installed[.kubeControllerManager] = InstalledVersion(text: "Kubernetes v1.32.0")
        let plan = try UpgradePlanner.plan(request(kube: "v1.32.0"), facts: half)
        #expect(order(plan) == ["node3 kube-apiserver drain", "node3 kube-apiserver upgrade", "node3 kube-apiserver undrain",
                                "node1 kube-scheduler upgrade",
                                "node2 kube-controller-manager upgrade", "node2 kube-scheduler upgrade",
                                "node3 kube-controller-manager upgrade", "node3 kube-scheduler upgrade"])
    }

    @Test func twoMinorsAtOnceAreRefusedNamingTheRule() {
        #expect {
            try UpgradePlanner.plan(request(kube: "v1.33.0"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"]))
        } throws: { error in
            let refusal = error as? UpgradeRefusal
            return refusal?.rule == SkewRules.apiserverOneMinor && refusal?.description.contains("go through 1.32 first") == true
        }
    }

    @Test func aDowngradeIsRefusedUnlessAllowedAndThenTakesTheControllersFirst() throws {
        #expect(throws: UpgradeRefusal.self) {
            try UpgradePlanner.plan(request(kube: "v1.31.2"), facts: facts(kube: ["v1.32.0", "v1.32.0", "v1.32.0"]))
        }
        let plan = try UpgradePlanner.plan(request(kube: "v1.31.2", allowDowngrade: true), facts: facts(kube: ["v1.32.0", "v1.32.0", "v1.32.0"]))
        #expect(order(plan) == Self.hosts.flatMap { ["\($0) kube-controller-manager downgrade", "\($0) kube-scheduler downgrade"] }
                + Self.hosts.flatMap { ["\($0) kube-apiserver drain", "\($0) kube-apiserver downgrade", "\($0) kube-apiserver undrain"] })
        #expect(plan.steps[0].rule.contains("before any kube-apiserver goes down"))
    }

    @Test func etcdTakesASnapshotThenTheFollowersThenMovesLeadershipAndUpgradesTheLeaderLast() throws {
        let plan = try UpgradePlanner.plan(request(etcd: "3.5.16"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], leader: "node2"))
        #expect(order(plan) == ["node2 etcd snapshot", "node1 etcd upgrade", "node3 etcd upgrade", "node2 etcd move-leader", "node2 etcd upgrade"])
        #expect(plan.steps[3].to == "node1" && plan.steps[3].check == .etcdLeader("node1"))
        #expect(plan.steps[1].from == "3.4.23" && plan.steps[1].to == "3.5.16")
        #expect(plan.steps[1].check == .etcdMemberCaughtUp(version: "3.5.16"))
        #expect(plan.steps[1].rule.contains("mixed 3.4/3.5 members"))
    }

    @Test func etcdResumesAfterTheLeaderWasUpgradedAlready() throws {
        // node1 (upgraded, now leading) is skipped; no leadership move is needed.
        let plan = try UpgradePlanner.plan(request(etcd: "3.5.16"),
                                           facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], etcd: ["3.5.16", "3.4.23", "3.4.23"], leader: "node1"))
        #expect(order(plan) == ["node1 etcd snapshot", "node2 etcd upgrade", "node3 etcd upgrade"])
    }

    @Test func etcdWithoutAKnownLeaderIsNotPlanned() {
        #expect(throws: ClusterupError.self) {
            try UpgradePlanner.plan(request(etcd: "3.5.16"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], leader: nil))
        }
    }

    @Test func loadBalancersGoBackupsFirstAndTheVIPHolderLastAfterHandingTheVIPOver() throws {
        let plan = try UpgradePlanner.plan(request(haproxy: "2.8.5", vrrpd: Self.vrrpdNew),
                                           facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], vipHolder: "node2"))
        #expect(order(plan) == ["node1 haproxy upgrade", "node1 clusterup-vrrpd upgrade",
                                "node3 haproxy upgrade", "node3 clusterup-vrrpd upgrade",
                                "node2 clusterup-vrrpd hand-over-vip", "node2 haproxy upgrade", "node2 clusterup-vrrpd upgrade"])
        // node1 has the highest priority of the backups: it takes the VIP.
        #expect(plan.steps[4].check == .vipHeldBy("node1"))
        #expect(plan.steps[6].check == .vrrpRunning(version: "sha256 bbbbbbbbbbbb", takesVIPBack: false))
        #expect(plan.steps[0].from == "2.6.12-1+deb12u1" && plan.steps[0].to == "2.8.5")
        #expect(plan.notes.contains { $0.hasPrefix("node2 does not take the VIP back") })
    }

    @Test func theHighestPriorityHolderTakesTheVIPBack() throws {
        let plan = try UpgradePlanner.plan(request(vrrpd: Self.vrrpdNew), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], vipHolder: "node1"))
        #expect(order(plan).suffix(2) == ["node1 clusterup-vrrpd hand-over-vip", "node1 clusterup-vrrpd upgrade"])
        #expect(plan.steps.last?.check == .vrrpRunning(version: "sha256 bbbbbbbbbbbb", takesVIPBack: true))
    }

    @Test func aHolderWhoseDaemonRestartsInPlaceKeepsTheVIPWithNoHandOver() throws {
        let kube = ["v1.31.2", "v1.31.2", "v1.31.2"]
        let plan = try UpgradePlanner.plan(request(vrrpd: Self.vrrpdNew), facts: facts(kube: kube, vipHolder: "node1", restartsInPlace: true))
        #expect(order(plan) == ["node2 clusterup-vrrpd upgrade", "node3 clusterup-vrrpd upgrade", "node1 clusterup-vrrpd upgrade"])
        #expect(plan.steps.last?.check == .vrrpRestartedInPlace(version: "sha256 bbbbbbbbbbbb"))
        #expect(plan.steps.last?.from == "0.1.0 (sha256 aaaaaaaaaaaa)")
        #expect(plan.steps.last?.rule.contains("restarted in place") == true)
        // The backups restart as before: a backup's restart moves nothing.
        #expect(plan.steps.dropLast().allSatisfy { $0.check == .vrrpRunning(version: "sha256 bbbbbbbbbbbb", takesVIPBack: false) })
        // HAProxy changing on the holder too: its restart needs the hand-over, and the daemon goes with it.
        let both = try UpgradePlanner.plan(request(haproxy: "2.8.5", vrrpd: Self.vrrpdNew),
                                           facts: facts(kube: kube, vipHolder: "node1", restartsInPlace: true))
        #expect(order(both).suffix(3) == ["node1 clusterup-vrrpd hand-over-vip", "node1 haproxy upgrade", "node1 clusterup-vrrpd upgrade"])
        #expect(!both.steps.contains { if case .vrrpRestartedInPlace = $0.check { true } else { false } })
    }

    @Test func aHolderWhoseDaemonIsNotReplacedRejoinsAfterItsHAProxy() throws {
        let plan = try UpgradePlanner.plan(request(haproxy: "2.8.5"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], vipHolder: "node1"))
        #expect(order(plan) == ["node2 haproxy upgrade", "node3 haproxy upgrade",
                                "node1 clusterup-vrrpd hand-over-vip", "node1 haproxy upgrade", "node1 clusterup-vrrpd rejoin-vrrp"])
        #expect(plan.steps.last?.check == .vrrpRunning(version: "0.1.0 (sha256 aaaaaaaaaaaa)", takesVIPBack: true))
    }

    @Test func loadBalancersWithoutAVIPHolderAreNotPlanned() {
        #expect(throws: ClusterupError.self) {
            try UpgradePlanner.plan(request(haproxy: "2.8.5"), facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"], vipHolder: nil))
        }
    }

    @Test func everyComponentAtOnceGoesEtcdThenControlPlaneThenLoadBalancers() throws {
        let plan = try UpgradePlanner.plan(request(kube: "v1.32.0", etcd: "3.5.16", haproxy: "2.8.5"),
                                           facts: facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"]))
        let components = plan.steps.map(\.component)
        #expect(components.firstIndex(of: .kubeAPIServer)! > components.lastIndex(of: .etcd)!)
        #expect(components.firstIndex(of: .kubeControllerManager)! > components.lastIndex(of: .kubeAPIServer)!)
        #expect(components.firstIndex(of: .haproxy)! > components.lastIndex(of: .kubeScheduler)!)
        #expect(plan.steps.count == 5 + 9 + 6 + 5)  // the VIP holder hands the VIP over first and rejoins after
    }

    @Test func deployLeavesDeclaredVersionChangesToUpgradeAndNotInstalledProgramsToItself() {
        var hosts = facts(kube: ["v1.32.0", "v1.31.2", "v1.31.2"]).hosts
        hosts[2].installed[.etcd] = InstalledVersion(text: "bash: line 1: /usr/bin/etcd: No such file or directory")
        let pending = UpgradePlanner.pendingVersionChanges(request(kube: "v1.32.0", etcd: "3.4.23", vrrpd: Self.vrrpdNew).wanted, hosts: hosts)
        #expect(pending == [
            "kube-apiserver: node2, node3 run v1.31.2; control_plane.version asks for v1.32.0",
            "kube-controller-manager: node2, node3 run v1.31.2; control_plane.version asks for v1.32.0",
            "kube-scheduler: node2, node3 run v1.31.2; control_plane.version asks for v1.32.0",
        ])
        #expect(UpgradePlanner.pendingVersionChanges(request(kube: "v1.32.0").wanted, hosts: facts(kube: ["v1.32.0", "v1.32.0", "v1.32.0"]).hosts).isEmpty)
    }

    @Test func aProgramThatIsNotInstalledIsLeftToDeploy() throws {
        var missing = facts(kube: ["v1.31.2", "v1.31.2", "v1.31.2"])
        missing.hosts[2].installed[.kubeAPIServer] = InstalledVersion(text: "bash: line 1: /usr/local/bin/kube-apiserver: No such file or directory")
        let plan = try UpgradePlanner.plan(request(kube: "v1.32.0"), facts: missing)
        #expect(!order(plan).contains("node3 kube-apiserver upgrade"))
        #expect(plan.notes.contains("kube-apiserver is not installed on node3: `clusterup deploy` installs it, upgrade leaves it"))
    }
}

@Suite struct UpgradeWantedVersionTests {
    @Test func controlPlaneVersionGivesTheKubernetesComponentsAndPackagesAreNotGuessed() throws {
        var settings = DeploySettings()
        settings.controlPlane.version = "v1.31.2"
        settings.artifacts["kube-apiserver"] = Artifact(name: "kube-apiserver", source: .file("/tmp/kube-apiserver", sha256: nil), path: "/usr/local/bin/kube-apiserver")
        settings.artifacts["haproxy"] = Artifact(name: "haproxy", source: .present, path: "/usr/sbin/haproxy", version: "2.8.5")
        let wanted = try UpgradeRequest.wanted(settings: settings, vrrpdBuild: "ABCDEF")
        #expect(wanted[.kubeAPIServer] == .version(ComponentVersion(parsing: "v1.31.2")!, from: "control_plane.version"))
        #expect(wanted[.kubeScheduler] == .version(ComponentVersion(parsing: "v1.31.2")!, from: "control_plane.version"))
        #expect(wanted[.haproxy] == .version(ComponentVersion(parsing: "2.8.5")!, from: "artifacts.haproxy.version"))
        #expect(wanted[.clusterupVRRPD] == .build(sha256: "abcdef", from: "the clusterup-vrrpd binary deploy uploads"))
        guard case .unknown(let why) = wanted[.etcd] else { Issue.record("etcd: \(String(describing: wanted[.etcd]))"); return }
        #expect(why.contains("package etcd-server with no version pinned"))
    }

    @Test func withoutControlPlaneVersionAKubernetesFileArtifactHasNoWantedVersion() throws {
        var settings = DeploySettings()
        settings.artifacts["kube-apiserver"] = Artifact(name: "kube-apiserver", source: .file("/tmp/kube-apiserver", sha256: nil), path: "/usr/local/bin/kube-apiserver")
        let wanted = try UpgradeRequest.wanted(settings: settings, vrrpdBuild: nil)
        #expect(wanted[.kubeAPIServer] == .unknown("artifacts.kube-apiserver names no version: set control_plane.version or artifacts.kube-apiserver.version"))
    }

    @Test func anUnreadableControlPlaneVersionIsBadInputNamingTheField() {
        var settings = DeploySettings()
        settings.controlPlane.version = "latest"
        #expect(throws: ClusterupError.badInput("control_plane.version 'latest' is not a version", at: "control_plane.version",
                                                hint: "write it as Kubernetes does: v1.31.2")) {
            try UpgradeRequest.wanted(settings: settings, vrrpdBuild: nil)
        }
    }
}

/// The holder's restart in place, as `upgrade apply` runs it: the script's guards and its verdicts.
@Suite struct RestartInPlaceScriptTests {
    @Test func theScriptChecksTheDigestAndAnOlderBuildBeforeSignallingAndWatchesTheSamePid() {
        let script = UpgradeInstaller.restartInPlaceScript(binary: "/usr/local/bin/clusterup-vrrpd")
        let digest = script.range(of: "sha256sum --check --status --strict")!.lowerBound
        let older = script.range(of: "an older build")!.lowerBound
        let signal = script.range(of: "--signal=SIGUSR2")!.lowerBound
        #expect(digest < signal && older < signal)
        #expect(script.contains("systemctl show -p MainPID --value clusterup-vrrpd.service"))
        #expect(script.contains("/proc/$pid/exe"))
        #expect(script.contains("event=restart-in-place-refused"))
    }

    @Test func verdictsAreRead() {
        #expect(UpgradeInstaller.parseInPlace("x\n@@restarted 3\n", lines: ["wrote /b"])
                == .restarted(lines: ["wrote /b", "restarted in place (SIGUSR2, same pid; restarts in place: 3)"]))
        #expect(UpgradeInstaller.parseInPlace("@@refused level=error event=restart-in-place-refused reason=x\n", lines: [])
                == .notDone(reason: "level=error event=restart-in-place-refused reason=x", lines: []))
        #expect(UpgradeInstaller.parseInPlace("@@exited the daemon (pid 4) exited\n", lines: [])
                == .notDone(reason: "the daemon (pid 4) exited", lines: []))
        #expect(UpgradeInstaller.parseInPlace("", lines: []) == .notDone(reason: "the restart in place printed no verdict", lines: []))
    }
}
