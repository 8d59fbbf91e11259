import ClusterupCore
import Testing
@testable import ClusterupDeploy

/// Deploy with hosts it cannot reach: stop before any change, or (--skip-unreachable) go on without them.
@Suite struct UnreachableHostsTests {
    let hosts = ["node1", "node2", "node3"]
    let peers = ["node1", "node2", "node3"].enumerated().map { EtcdPeer(name: $1, address: "198.51.100.\(11 + $0)") }

    @Test func everyHostAnsweredMeansProceed() {
        #expect(UnreachableHosts.decide(unreachable: [:], hosts: hosts, skip: false) == .proceed)
        #expect(UnreachableHosts.decide(unreachable: [:], hosts: hosts, skip: true) == .proceed)
    }

    @Test func anUnreachableHostStopsDeployNamingItAndTheWayOn() throws {
        guard case .refuse(let why) = UnreachableHosts.decide(unreachable: ["node3": "connection timed out"], hosts: hosts, skip: false) else {
            Issue.record("an unreachable host must stop deploy")
            return
        }
        #expect(why.hasPrefix("node3 cannot be reached; nothing was changed on any host"), "\(why)")
        #expect(why.contains("--skip-unreachable") && why.contains("remove it from the inventory"), "\(why)")
    }

    @Test func skipGoesOnWithoutTheUnreachableButNotWithoutEveryone() {
        #expect(UnreachableHosts.decide(unreachable: ["node3": "timeout"], hosts: hosts, skip: true) == .skip(["node3": "timeout"]))
        let all = Dictionary(uniqueKeysWithValues: hosts.map { ($0, "timeout") })
        guard case .refuse(let why) = UnreachableHosts.decide(unreachable: all, hosts: hosts, skip: true) else {
            Issue.record("no reachable host must refuse")
            return
        }
        #expect(why.hasPrefix("no host can be reached (node1, node2, node3)"), "\(why)")
    }

    @Test func aNewEtcdClusterIsNotBootstrappedWithoutASkippedMember() throws {
        let refusal = try #require(UnreachableHosts.etcdRefusal(.bootstrap(peers), skipped: ["node2"]))
        #expect(refusal.contains("node2 cannot be reached"), "\(refusal)")
        #expect(UnreachableHosts.etcdRefusal(.bootstrap(peers), skipped: []) == nil)
        #expect(UnreachableHosts.etcdRefusal(.reconcile(join: [], remove: []), skipped: ["node2"]) == nil)
    }

    @Test func aSkippedHostIsNotAddedAsAMemberAndNothingElseChanges() {
        let removed = EtcdMember(id: 7, name: "node9", peerURLs: ["https://198.51.100.19:2380"])
        let (plan, leftOut) = UnreachableHosts.withoutSkipped(.reconcile(join: [peers[2]], remove: [removed]), skipped: ["node3"])
        #expect(plan == .reconcile(join: [], remove: [removed]))
        #expect(leftOut == ["node3"])
        let (untouched, none) = UnreachableHosts.withoutSkipped(.reconcile(join: [peers[2]], remove: []), skipped: ["node1"])
        #expect(untouched == .reconcile(join: [peers[2]], remove: []) && none.isEmpty)
    }

    @Test func theReportSaysWhatWasNotDoneOnEachSkippedOrRemovedHost() {
        let lines = UnreachableHosts.report(["node3": "no route to host", "node1": "timeout"], hosts: hosts)
        #expect(lines.count == 2 && lines[0].hasPrefix("skipped node1 (unreachable: timeout)") && lines[1].hasPrefix("skipped node3"))
        #expect(lines.allSatisfy { $0.contains("nothing on it was changed") })
        let removed = UnreachableHosts.leftBehind(member: "node3", removedThrough: "node1")
        #expect(removed.hasPrefix("node3: removed from etcd through node1"), "\(removed)")
        #expect(removed.contains("cleaned nothing there") && removed.contains("clusterup reset"), "\(removed)")
    }
}
