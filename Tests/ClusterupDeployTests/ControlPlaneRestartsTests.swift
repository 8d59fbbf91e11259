import Testing
@testable import ClusterupDeploy

/// Which control-plane hosts deploy starts or restarts, in which order, and which restarts are
/// drained from which HAProxies first.
@Suite struct ControlPlaneRestartsTests {
    static let units = ControlPlanePhase.units

    static func restart(_ unit: String = "kube-apiserver.service", on host: String) -> HostChanges {
        HostChanges(host: host, units: [.restart(unit, because: ["/etc/kubernetes/pki/apiserver.crt"])])
    }

    static func plan(_ changes: [String: HostChanges], controlPlane: [String] = ["node1", "node2", "node3"],
                     balancers: [String] = ["node1", "node2", "node3"], skipped: Set<String> = [], canDrain: Bool = true) -> ControlPlaneRestarts {
        ControlPlaneRestarts.plan(controlPlane: controlPlane, balancers: balancers, changes: changes, units: units,
                                  skipped: skipped, canDrain: canDrain)
    }

    @Test func runningApiserversRestartOneAtATimeInInventoryOrderEachDrainedThroughEveryHAProxy() {
        let plan = Self.plan(["node3": Self.restart(on: "node3"), "node1": Self.restart(on: "node1"), "node2": Self.restart(on: "node2")])
        #expect(plan.fresh.isEmpty)
        #expect(plan.rolling.map(\.host) == ["node1", "node2", "node3"])
        #expect(plan.rolling.allSatisfy { $0.drainThrough == ["node1", "node2", "node3"] && $0.undrainedBecause == nil })
    }

    @Test func aJoiningHostStartsWithTheFreshAndItsHAProxyIsNotAskedToDrain() {
        // node4 joins: its units and HAProxy start in this run, after the control plane phase.
        let joining = HostChanges(host: "node4", units: [.start("kube-apiserver.service"), .start("kube-controller-manager.service"),
                                                        .start("kube-scheduler.service"), .start("haproxy.service")])
        let nodes = ["node1", "node2", "node3", "node4"]
        let plan = Self.plan(["node4": joining, "node1": Self.restart(on: "node1"), "node2": Self.restart(on: "node2")],
                             controlPlane: nodes, balancers: nodes)
        #expect(plan.fresh == ["node4"])
        #expect(plan.rolling.map(\.host) == ["node1", "node2"])
        #expect(plan.rolling.allSatisfy { $0.drainThrough == ["node1", "node2", "node3"] }, "node4's HAProxy is not running yet")
    }

    @Test func onlyAnApiserverRestartIsDrainedNotTheControllersAlone() {
        let plan = Self.plan(["node1": Self.restart("kube-scheduler.service", on: "node1"), "node2": Self.restart(on: "node2")])
        #expect(plan.rolling.map(\.host) == ["node1", "node2"])
        #expect(plan.rolling[0].drainThrough.isEmpty && plan.rolling[0].undrainedBecause == "kube-apiserver does not restart")
        #expect(plan.rolling[1].drainThrough == ["node1", "node2", "node3"])
    }

    @Test func theOnlyApiserverIsNotDrainedThereIsNoOtherToTakeItsClients() {
        let plan = Self.plan(["node1": Self.restart(on: "node1")], controlPlane: ["node1"], balancers: ["node1", "node2"])
        #expect(plan.rolling == [.init(host: "node1", drainThrough: [], undrainedBecause: "no other apiserver to take its clients")])
    }

    @Test func withoutAGuardOrARunningHAProxyRestartsAreUndrained() {
        let noGuard = Self.plan(["node1": Self.restart(on: "node1")], canDrain: false)
        #expect(noGuard.rolling == [.init(host: "node1", drainThrough: [], undrainedBecause: "no drain available")])
        let noProxy = Self.plan(["node1": Self.restart(on: "node1")], balancers: [])
        #expect(noProxy.rolling == [.init(host: "node1", drainThrough: [], undrainedBecause: "no running HAProxy")])
    }

    @Test func skippedHostsAreNeitherRestartedNorAskedToDrain() {
        let plan = Self.plan(["node1": Self.restart(on: "node1"), "node3": Self.restart(on: "node3")], skipped: ["node3"])
        #expect(plan.rolling.map(\.host) == ["node1"])
        #expect(plan.rolling[0].drainThrough == ["node1", "node2"])
    }

    @Test func nothingChangedNothingRestarts() {
        let plan = Self.plan(["node1": HostChanges(host: "node1")])
        #expect(plan.fresh.isEmpty && plan.rolling.isEmpty)
    }
}
