import ClusterupCore
import ClusterupSSH
import Testing
@testable import ClusterupDeploy

/// Fixtures for the plan and its report: a three-node inventory (every node etcd, control plane
/// and lb), a small desired state per host, and what hosts report having.
enum PlanFixture {
    static let config = "/etc/demo/demo.conf"
    static let unit = "demo.service"

    static func desired(_ inventory: Inventory, content: String = "v1\n") -> [String: HostDesiredState] {
        var states: [String: HostDesiredState] = [:]
        for host in inventory.hosts {
            var state = HostDesiredState(host: host.name)
            state.add(ManagedFile(path: config, text: content, restarts: [unit], component: "demo"))
            state.add(ManagedUnit(name: unit, component: "demo"))
            states[host.name] = state
        }
        return states
    }

    /// A host that has `content` in the file and the unit running.
    static func host(content: String = "v1\n") -> HostObservedState {
        HostObservedState(
            files: [config: .init(sha256: sha256Hex(Array(content.utf8)), mode: 0o644, owner: "root", group: "root")],
            units: [unit: .init(active: "active", enabled: "enabled")])
    }

    static func member(_ name: String, _ address: String, id: UInt64) -> EtcdMember {
        let peer = EtcdPeer(name: name, address: address)
        return EtcdMember(id: id, name: name, peerURLs: [peer.peerURL], clientURLs: [peer.clientURL])
    }

    static let running = [member("node1", "198.51.100.11", id: 1), member("node2", "198.51.100.12", id: 2),
                          member("node3", "198.51.100.13", id: 3)]

    /// Every host read, each as `hosts` says (default: matching the desired state), etcd as `etcd` says.
    static func observed(_ hosts: [String: HostObservedState] = [:], etcd: [String: EtcdHostFacts]) -> ObservedCluster {
        var all: [String: HostObservedState] = [:]
        for name in ["node1", "node2", "node3"] { all[name] = hosts[name] ?? host() }
        return ObservedCluster(hosts: all, etcd: etcd)
    }

    /// A running cluster of node1..3, the member list read from node1.
    static var runningCluster: [String: EtcdHostFacts] {
        ["node1": EtcdHostFacts(hasData: true, active: true, members: running),
         "node2": EtcdHostFacts(hasData: true, active: true),
         "node3": EtcdHostFacts(hasData: true, active: true)]
    }

    static func bootstrapFile(_ host: InventoryHost, _ bootstrap: EtcdBootstrap) -> ManagedFile {
        ManagedFile(path: EtcdComponent.bootstrapPath, text: "\(bootstrap.initialCluster) \(bootstrap.state.rawValue)\n", component: "etcd")
    }

    static func plan(_ inventory: Inventory, desired: [String: HostDesiredState]? = nil, observed: ObservedCluster,
                     skipped: Set<String> = []) throws -> DeployPlan {
        try DeployPlan.make(inventory: inventory, desired: desired ?? Self.desired(inventory), observed: observed, skipped: skipped,
                            bootstrapFile: bootstrapFile)
    }
}

/// The plan as a pure function from (desired state, what the hosts have) to changes.
@Suite struct DeployPlanTests {
    @Test func bareHostsBootstrapEtcdAndGetEveryFileAndUnit() throws {
        let inventory = try operationsInventory()
        let bare = ["node1": HostObservedState(), "node2": HostObservedState(), "node3": HostObservedState()]
        let empty = EtcdHostFacts(hasData: false, active: false)
        let plan = try PlanFixture.plan(inventory, observed: PlanFixture.observed(bare, etcd: ["node1": empty, "node2": empty, "node3": empty]))
        guard case .bootstrap(let peers) = plan.etcd else { Issue.record("\(plan.etcd)"); return }
        #expect(peers.map(\.name) == ["node1", "node2", "node3"])
        for name in ["node1", "node2", "node3"] {
            let changes = try #require(plan.changes[name])
            #expect(changes.files.map(\.file.path) == [PlanFixture.config, EtcdComponent.bootstrapPath])
            #expect(changes.files.allSatisfy { $0.reason == .missing })
            #expect(changes.units == [.enable(PlanFixture.unit), .start(PlanFixture.unit)])
            let bootstrap = String(decoding: try #require(plan.desired[name]?.files.last?.content), as: UTF8.self)
            #expect(bootstrap.hasPrefix("node1=https://198.51.100.11:2380,node2=") && bootstrap.hasSuffix(" new\n"))
        }
        #expect(plan.itemCount == 12 && plan.hostsChanged == 3 && !plan.isNoChange)
    }

    @Test func hostsThatMatchGetNoChangeAndNoBootstrapFile() throws {
        let inventory = try operationsInventory()
        let plan = try PlanFixture.plan(inventory, observed: PlanFixture.observed(etcd: PlanFixture.runningCluster))
        #expect(plan.etcd.isNoChange && plan.isNoChange)
        #expect(plan.changes.values.allSatisfy(\.isEmpty) && plan.changes.count == 3)
        #expect(plan.members == PlanFixture.running)
        #expect(plan.desired["node1"]?.files.map(\.path) == [PlanFixture.config])
    }

    @Test func aChangedFileRestartsOnlyWhatItFeeds() throws {
        let inventory = try operationsInventory()
        let plan = try PlanFixture.plan(inventory, desired: PlanFixture.desired(inventory, content: "v2\n"),
                                        observed: PlanFixture.observed(etcd: PlanFixture.runningCluster))
        let changes = try #require(plan.changes["node2"])
        #expect(changes.files.map(\.reason) == [.content])
        #expect(changes.units == [.restart(PlanFixture.unit, because: [PlanFixture.config])])
        #expect(plan.itemCount == 6 && plan.hostsChanged == 3)
    }

    @Test func aJoiningMemberAloneGetsABootstrapFileNamingTheMembersBeforeIt() throws {
        let inventory = try operationsInventory()
        var etcd = PlanFixture.runningCluster
        etcd["node1"]?.members = Array(PlanFixture.running.prefix(2))
        etcd["node3"] = EtcdHostFacts(hasData: false, active: false)
        let plan = try PlanFixture.plan(inventory, observed: PlanFixture.observed(etcd: etcd))
        #expect(plan.etcd == .reconcile(join: [EtcdPeer(name: "node3", address: "198.51.100.13")], remove: []))
        #expect(plan.changes["node1"]?.isEmpty == true && plan.changes["node2"]?.isEmpty == true)
        let file = try #require(plan.changes["node3"]?.files.first { $0.file.path == EtcdComponent.bootstrapPath })
        #expect(String(decoding: file.file.content, as: UTF8.self)
                == "node1=https://198.51.100.11:2380,node2=https://198.51.100.12:2380,node3=https://198.51.100.13:2380 existing\n")
    }

    @Test func anUnreachableJoinerIsLeftOutAndChangesNothing() throws {
        let inventory = try operationsInventory()
        var etcd = PlanFixture.runningCluster
        etcd["node1"]?.members = Array(PlanFixture.running.prefix(2))
        etcd["node3"] = nil
        var observed = PlanFixture.observed(etcd: etcd)
        observed.hosts["node3"] = nil
        let plan = try PlanFixture.plan(inventory, observed: observed, skipped: ["node3"])
        #expect(plan.etcd.isNoChange && plan.leftOut == ["node3"])
        #expect(plan.changes["node3"] == HostChanges(host: "node3"))
        #expect(plan.desired["node3"]?.files.map(\.path) == [PlanFixture.config])
    }

    @Test func aNewClusterWithoutAnUnreachableMemberIsRefused() throws {
        let inventory = try operationsInventory()
        let empty = EtcdHostFacts(hasData: false, active: false)
        let error = #expect(throws: ClusterupError.self) {
            try PlanFixture.plan(inventory, observed: PlanFixture.observed(etcd: ["node1": empty, "node2": empty]), skipped: ["node3"])
        }
        #expect(error?.kind == .badInput && error?.message.contains("cannot bootstrap etcd without it") == true)
    }

    @Test func aJoinerOlderThanTheClusterIsRefused() throws {
        let inventory = try operationsInventory()
        var etcd = PlanFixture.runningCluster
        etcd["node1"] = EtcdHostFacts(hasData: true, active: true, members: Array(PlanFixture.running.prefix(2)), version: EtcdVersion("3.5.16"))
        etcd["node2"]?.version = EtcdVersion("3.5.16")
        etcd["node3"] = EtcdHostFacts(hasData: false, active: false, version: EtcdVersion("3.4.23"))
        let error = #expect(throws: ClusterupError.self) { try PlanFixture.plan(inventory, observed: PlanFixture.observed(etcd: etcd)) }
        #expect(error?.kind == .badInput && error?.message.contains("node3 runs etcd 3.4.23") == true)
    }

    @Test func theMemberListComesFromARunningMemberWhenTheFirstIsDown() {
        var observed = ObservedCluster(etcd: ["node1": EtcdHostFacts(hasData: true, active: false),
                                              "node2": EtcdHostFacts(hasData: true, active: true),
                                              "node3": EtcdHostFacts(hasData: true, active: true)])
        #expect(observed.memberListFallback(etcdHosts: ["node1", "node2", "node3"]) == "node2")
        observed.etcd["node2"]?.members = PlanFixture.running
        #expect(observed.members(etcdHosts: ["node1", "node2", "node3"]) == PlanFixture.running)
        #expect(ObservedCluster(etcd: PlanFixture.runningCluster).memberListFallback(etcdHosts: ["node1", "node2", "node3"]) == nil)
        #expect(ObservedCluster(etcd: ["node1": EtcdHostFacts(hasData: false, active: false)]).memberListFallback(etcdHosts: ["node1"]) == nil)
    }
}

/// What the probe reads is decided from the desired states, without a host.
@Suite struct ClusterProbeScriptTests {
    @Test func eachHostIsAskedAboutWhatItShouldHaveAndOnlyTheFirstEtcdHostListsMembers() throws {
        let inventory = try operationsInventory()
        let scripts = ClusterProbe.scripts(PlanFixture.desired(inventory), inventory: inventory, settings: inventory.deploy)
        #expect(scripts.keys.sorted() == ["node1", "node2", "node3"])
        for script in scripts.values {
            #expect(script.contains(PlanFixture.config) && script.contains(EtcdComponent.bootstrapPath) && script.contains(PlanFixture.unit))
        }
        #expect(scripts["node1"]!.contains("member list"))
        #expect(!scripts["node2"]!.contains("member list") && !scripts["node3"]!.contains("member list"))
    }
}
