import Testing
@testable import ClusterupDeploy

/// Dry run through one helper: the wording of a change in a real run and in a dry run, and a
/// change made through `perform` that a dry run does not make.
@Suite struct RunModeTests {
    @Test func aPlannedChangeIsImperativeAndWouldInADryRun() {
        #expect(RunMode.wet.planned(.add, "member node4") == "add member node4")
        #expect(RunMode.dry.planned(.add, "member node4") == "would add member node4")
        #expect(RunMode.dry.planned(.stopAndDisable, "keepalived.service") == "would stop and disable keepalived.service")
    }

    @Test func aChangeUnderWayIsProgressiveAndWouldInADryRun() {
        #expect(RunMode.wet.ongoing(.change, "6 item(s) on 3 host(s)") == "changing 6 item(s) on 3 host(s)")
        #expect(RunMode.dry.ongoing(.change, "6 item(s) on 3 host(s)") == "would change 6 item(s) on 3 host(s)")
    }

    @Test func aChangeMadeIsPastAndWouldInADryRun() {
        #expect(RunMode.wet.made(.create, "CA etcd-ca") == "created CA etcd-ca")
        #expect(RunMode.dry.made(.create, "CA etcd-ca") == "would create CA etcd-ca")
        #expect(RunMode.wet.made(.write, "2 file(s)") == "wrote 2 file(s)")
    }

    @Test func performMakesTheChangeOnlyInARealRun() {
        var made = 0
        var progress: [String] = []
        let wet = RunMode.wet.perform(.install, "package etcd (for etcd)", progress: { progress.append($0) }) { made += 1 }
        #expect(made == 1 && wet == "installed package etcd (for etcd)")
        #expect(progress == ["installing package etcd (for etcd)"])

        let dry = RunMode.dry.perform(.install, "package etcd (for etcd)", progress: { progress.append($0) }) { made += 1 }
        #expect(made == 1 && dry == "would install package etcd (for etcd)")
        #expect(progress.count == 1)
    }

    @Test func aFailedChangeIsNotReportedAsMade() {
        struct Refused: Error {}
        #expect(throws: Refused.self) { try RunMode.wet.perform(.install, "package x") { throw Refused() } }
    }

    @Test func onlyADryRunSkipsThePhasesThatChangeHosts() {
        #expect(RunMode(dryRun: true) == .dry && RunMode.dry.skipReason == "dry run")
        #expect(RunMode(dryRun: false) == .wet && RunMode.wet.skipReason == nil)
    }

    @Test func unitActionsAreWordedByTheirVerb() {
        #expect(HostChanges.UnitAction.restart("etcd.service", because: []).verb.past == "restarted")
        #expect(HostChanges.UnitAction.reload("haproxy.service", because: []).verb.base == "reload")
        #expect(HostChanges.UnitAction.disable("keepalived.service").unit == "keepalived.service")
    }
}
