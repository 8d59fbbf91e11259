import ClusterupCore
import ClusterupVerify
import Foundation
import Testing
import TestSupport

/// What each failure mode needs before anything is broken, and how a node's answer becomes a
/// finding. Canned output, plus the script itself run under a PATH of our making (no root).
@Suite struct FaultPreflightTests {
    @Test func eachModeNeedsItsOwnPrerequisites() {
        let unit = "keepalived.service"
        #expect(FaultPreflight.prerequisites(mode: .network, stopNode: false, vrrpUnit: unit, interface: "host0")
                == [.nft, .netdevEgress(interface: "host0")])
        #expect(FaultPreflight.prerequisites(mode: .crash, stopNode: false, vrrpUnit: unit, interface: "host0")
                == [.unitWithControlGroup(unit)])
        #expect(FaultPreflight.prerequisites(mode: .crash, stopNode: true, vrrpUnit: unit, interface: "host0").isEmpty)
        #expect(FaultPreflight.prerequisites(mode: .service, stopNode: false, vrrpUnit: unit, interface: "host0")
                == [.unitWithControlGroup(unit), .unitWithControlGroup("haproxy.service")])
        #expect(FaultPreflight.prerequisites(mode: .graceful, stopNode: false, vrrpUnit: "clusterup-vrrpd.service", interface: "host0")
                == [.unitWithControlGroup("clusterup-vrrpd.service")])
    }

    @Test func theHostsInvolvedAreThoseARunMayBreak() {
        let all = ["node1", "node2", "node3"]
        #expect(FaultPreflight.involvedHosts(holder: "node2", expectedHolder: "node1", lbHosts: all, rounds: 1) == ["node2"])
        // With preempt the VIP returns to the configured holder, which later rounds break.
        #expect(FaultPreflight.involvedHosts(holder: "node2", expectedHolder: "node1", lbHosts: all, rounds: 3) == ["node2", "node1"])
        #expect(FaultPreflight.involvedHosts(holder: "node1", expectedHolder: "node1", lbHosts: all, rounds: 3) == ["node1"])
        // Without preempt it stays where it moved: any lb host may be a later master.
        #expect(FaultPreflight.involvedHosts(holder: "node1", expectedHolder: nil, lbHosts: all, rounds: 2) == all)
    }

    @Test func aMissingNftIsTheOperatorsToInstallAndNamesTheHostAndThePackage() throws {
        let prerequisites: [FaultPrerequisite] = [.nft, .netdevEgress(interface: "enp1s0")]
        let findings = FaultPreflight.findings(host: "node1", prerequisites: prerequisites,
                                               facts: FaultPreflight.parse("os_id=debian\nkernel=6.12.48-amd64\nnft=\n"))
        // The egress check could not run without nft: one finding, not two.
        #expect(findings.count == 1)
        #expect(findings.first?.remedy == "install it: apt-get install nftables")
        let error = try #require(FaultPreflight.error(findings, mode: .network))
        #expect(error.exitCode == 2)
        #expect(error.message.contains("node1: nft is not installed (package nftables)"))
        #expect(error.message.contains("nothing was broken"))
        #expect(error.hint == "node1: install it: apt-get install nftables")
    }

    @Test func theRemedyFollowsTheDistribution() {
        let findings = FaultPreflight.findings(host: "lb2", prerequisites: [.nft], facts: ["os_id": "rocky", "nft": ""])
        #expect(findings.map(\.remedy) == ["install it: dnf install nftables"])
    }

    @Test func aKernelWithoutEgressHooksIsRefusedWithWhatNftSaid() throws {
        let facts = FaultPreflight.parse("os_id=debian\nkernel=5.10.0-28-amd64\nnft=/usr/sbin/nft\negress=Error: Could not process rule: Operation not supported \n")
        let findings = FaultPreflight.findings(host: "node2", prerequisites: [.nft, .netdevEgress(interface: "eth0")], facts: facts)
        let finding = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(finding.operatorFix)
        #expect(finding.missing.contains("egress hooks do not work on eth0 (nft said: Error: Could not process rule: Operation not supported)"))
        #expect(finding.remedy.contains("Linux 5.16"))
        #expect(finding.remedy.contains("kernel here: 5.10.0-28-amd64"))
    }

    @Test func aNodeWithEverythingHasNoFinding() {
        let facts = FaultPreflight.parse("""
            os_id=debian
            kernel=6.1.0-40-amd64
            nft=/usr/sbin/nft
            egress=ok
            unit_keepalived_service_state=active
            unit_keepalived_service_procs=3
            """)
        let prerequisites: [FaultPrerequisite] = [.nft, .netdevEgress(interface: "host0"), .unitWithControlGroup("keepalived.service")]
        #expect(FaultPreflight.findings(host: "node1", prerequisites: prerequisites, facts: facts).isEmpty)
        #expect(FaultPreflight.error([], mode: .network) == nil)
    }

    @Test func anInactiveUnitOrOneWithoutProcessesIsTheClustersStateNotAnInstall() throws {
        let unit = FaultPrerequisite.unitWithControlGroup("keepalived.service")
        let inactive = FaultPreflight.findings(host: "node1", prerequisites: [unit], facts: [
            "unit_keepalived_service_state": "inactive", "unit_keepalived_service_procs": "none"])
        #expect(inactive.map(\.missing) == ["keepalived.service is inactive, not active"])
        let error = try #require(FaultPreflight.error(inactive, mode: .crash))
        #expect(error.exitCode == 1)
        let empty = FaultPreflight.findings(host: "node1", prerequisites: [unit], facts: [
            "unit_keepalived_service_state": "active", "unit_keepalived_service_procs": "none"])
        #expect(empty.map(\.missing) == ["keepalived.service is active but its daemon was not found in its control group"])
    }

    @Test func theEgressCheckRemovesItsThrowawayTableAndCutsNothing() {
        let script = FaultPreflight.script([.nft, .netdevEgress(interface: "host0")])
        #expect(script.contains("hook egress device \"host0\" priority 0; policy accept;"))
        #expect(script.contains("nft delete table netdev clusterup_verify_preflight"))
        #expect(!script.contains("policy drop"))
    }

    /// The script as a node runs it, under a PATH without nft and then with a stand-in one.
    @Test func theScriptFindsNftOnThePathOrReportsItMissing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let uname = try #require(["/usr/bin/uname", "/bin/uname"].first { FileManager.default.isExecutableFile(atPath: $0) })
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("uname").path, withDestinationPath: uname)
        let script = FaultPreflight.script([.nft])

        let without = try run(script, path: directory.path)
        #expect(FaultPreflight.parse(without)["nft"] == "")
        #expect(FaultPreflight.findings(host: "here", prerequisites: [.nft], facts: FaultPreflight.parse(without)).count == 1)

        let nft = directory.appendingPathComponent("nft")
        try "#!/bin/sh\nexit 0\n".write(to: nft, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: nft.path)
        let with = try run(script, path: directory.path)
        #expect(FaultPreflight.parse(with)["nft"] == nft.path)
        #expect(FaultPreflight.findings(host: "here", prerequisites: [.nft], facts: FaultPreflight.parse(with)).isEmpty)
    }

    func run(_ script: String, path: String) throws -> String {
        try ProcessRunner.shell(script, environment: ["PATH": path]).stdout
    }

    @Test func theProbeReachesTheVIPOnlyWhenEveryRecentProbeSucceeded() {
        let marks = "----++++++++"
        let log = ProbeLog(marks.enumerated().map { ProbeSample(at: .milliseconds($0.offset * 50), ok: $0.element == "+") })
        #expect(FailoverRunner.steady(log, now: .milliseconds(550), over: .milliseconds(300)))
        #expect(!FailoverRunner.steady(log, now: .milliseconds(550), over: .milliseconds(500)))
        // Too few probes in the stretch prove nothing.
        #expect(!FailoverRunner.steady(ProbeLog([ProbeSample(at: .milliseconds(500), ok: true)]), now: .milliseconds(550), over: .milliseconds(300)))
    }
}
