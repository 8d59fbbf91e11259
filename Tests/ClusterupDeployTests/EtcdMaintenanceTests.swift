import ClusterupCore
import ClusterupNodes
import Foundation
import Testing
@testable import ClusterupDeploy

/// Output captured from Debian 12's etcdctl 3.4.23 against a member that hit its quota.
enum EtcdFixtures {
    static let statusNoSpace = """
    [{"Endpoint":"http://127.0.0.1:23790","Status":{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":43,"raft_term":2},"version":"3.4.23","dbSize":1044480,"leader":3319814642761637952,"raftIndex":48,"raftTerm":2,"raftAppliedIndex":48,"errors":["memberID:3319814642761637952 alarm:NOSPACE "],"dbSizeInUse":880640}}]
    """
    static let alarmsNoSpace = #"{"alarms":[{"memberID":3319814642761637952,"alarm":1}]}"#
}

@Suite struct EtcdMaintenanceTests {
    func state(_ name: String, id: UInt64, leader: UInt64, size: Int64, inUse: Int64, answers: Bool = true) -> EtcdMemberState {
        let url = "https://198.51.100.\(10 + id):2379"
        return EtcdMemberState(
            member: EtcdMember(id: id, name: name, peerURLs: ["https://198.51.100.\(10 + id):2380"], clientURLs: [url]),
            status: answers ? EtcdEndpointStatus(endpoint: url, memberID: id, dbSize: size, dbSizeInUse: inUse, leader: leader) : nil)
    }

    @Test func parsesEndpointStatusWithAnAlarm() throws {
        let list = try EtcdEndpointStatus.parse(EtcdFixtures.statusNoSpace, host: "node1")
        #expect(list.count == 1)
        let status = try #require(list.first)
        #expect(status.dbSize == 1_044_480)
        #expect(status.dbSizeInUse == 880_640)
        #expect(status.revision == 43)
        #expect(status.isLeader)
        #expect(status.raftAppliedIndex == 48)
        #expect(status.errors == ["memberID:3319814642761637952 alarm:NOSPACE"])
        #expect(abs(status.freeFraction - Double(1_044_480 - 880_640) / 1_044_480) < 1e-9)
    }

    @Test func endpointStatusGarbageIsAnErrorNamingTheHost() {
        #expect(throws: ClusterupError.self) { try EtcdEndpointStatus.parse("Error: context deadline exceeded", host: "node2") }
        do {
            _ = try EtcdEndpointStatus.parse("Error: context deadline exceeded", host: "node2")
        } catch let error as ClusterupError {
            #expect(error.location == "node2")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func parsesAlarms() throws {
        #expect(try EtcdAlarm.parseList(EtcdFixtures.alarmsNoSpace, host: "n") == [EtcdAlarm(memberID: 3319814642761637952, kind: .nospace)])
        #expect(try EtcdAlarm.parseList("{}", host: "n") == [])
        #expect(try EtcdAlarm.parseList(#"{"alarms":[{"memberID":5,"alarm":2}]}"#, host: "n") == [EtcdAlarm(memberID: 5, kind: .corrupt)])
    }

    @Test func quotaComesFromExtraArgsInEitherSpellingElseEtcdsDefault() {
        var settings = EtcdSettings()
        #expect(EtcdQuota.bytes(settings) == 2 * 1024 * 1024 * 1024)
        settings.extraArgs = ["--quota-backend-bytes=1048576"]
        #expect(EtcdQuota.bytes(settings) == 1_048_576)
        settings.extraArgs = ["--auto-compaction-retention=1", "--quota-backend-bytes", "4096"]
        #expect(EtcdQuota.bytes(settings) == 4096)
        settings.extraArgs = ["--quota-backend-bytes=0"]
        #expect(EtcdQuota.bytes(settings) == EtcdQuota.etcdDefault)
    }

    // MARK: alarms

    @Test func disarmRefusedWhileTheDatabaseStillFillsTheQuota() {
        let alarms = [EtcdAlarm(memberID: 1, kind: .nospace)]
        let full = [state("node1", id: 1, leader: 1, size: 1000, inUse: 950)]
        let reasons = EtcdAlarmDisarm.refusals(alarms: alarms, states: full, quota: 1000)
        #expect(reasons.count == 1)
        #expect(reasons[0].contains("node1") && reasons[0].contains("compact"))
        // Compacted but not defragmented: the file is still full, the advice is defrag only.
        let compacted = [state("node1", id: 1, leader: 1, size: 1000, inUse: 100)]
        let advice = EtcdAlarmDisarm.refusals(alarms: alarms, states: compacted, quota: 1000)
        #expect(advice.count == 1 && advice[0].contains("defragment it first"))
        // Defragmented: room again.
        let freed = [state("node1", id: 1, leader: 1, size: 120, inUse: 100)]
        #expect(EtcdAlarmDisarm.refusals(alarms: alarms, states: freed, quota: 1000).isEmpty)
    }

    @Test func disarmRefusedForCorruptionAndForASilentMember() {
        let states = [state("node1", id: 1, leader: 1, size: 10, inUse: 10), state("node2", id: 2, leader: 1, size: 0, inUse: 0, answers: false)]
        let corrupt = EtcdAlarmDisarm.refusals(alarms: [EtcdAlarm(memberID: 1, kind: .corrupt)], states: states, quota: 1000)
        #expect(corrupt.count == 1 && corrupt[0].contains("CORRUPT") && corrupt[0].contains("node1"))
        let silent = EtcdAlarmDisarm.refusals(alarms: [EtcdAlarm(memberID: 1, kind: .nospace)], states: states, quota: 1000)
        #expect(silent.count == 1 && silent[0].contains("node2"))
    }

    // MARK: recover

    let hosts = ["node1", "node2", "node3"]

    @Test func recoverRefusedWhileAQuorumAnswersUnlessForced() throws {
        let facts: [String: EtcdRecoverPlan.HostFacts] = [
            "node1": .init(reachable: true, active: true, healthy: true, hasData: true),
            "node2": .init(reachable: true, active: true, healthy: true, hasData: true),
            "node3": .init(reachable: true, hasData: false),
        ]
        do {
            _ = try EtcdRecoverPlan.plan(etcdHosts: hosts, facts: facts, source: .member("node1"), force: false)
            Issue.record("recover planned while a quorum answers")
        } catch let error as ClusterupError {
            #expect(error.exitCode == 2)
            #expect(error.message.contains("quorum") && error.message.contains("node1, node2"))
        }
        let forced = try EtcdRecoverPlan.plan(etcdHosts: hosts, facts: facts, source: .member("node1"), force: true)
        #expect(forced.seed == "node1" && forced.rejoin == ["node2", "node3"])
    }

    @Test func recoverFromAMemberSeedsOnItAndRejoinsTheOthersInInventoryOrder() throws {
        let facts: [String: EtcdRecoverPlan.HostFacts] = [
            "node1": .init(reachable: true, hasData: false),
            "node2": .init(reachable: true, active: true, hasData: true),
            "node3": .init(reachable: true, hasData: false),
        ]
        let plan = try EtcdRecoverPlan.plan(etcdHosts: hosts, facts: facts, source: .member("node2"), force: false)
        #expect(plan.seed == "node2")
        #expect(plan.rejoin == ["node1", "node3"])
        #expect(plan.leftOut.isEmpty)
    }

    @Test func recoverFromAMemberNeedsAnEtcdHostThatHasData() {
        let facts: [String: EtcdRecoverPlan.HostFacts] = [
            "node1": .init(reachable: true, hasData: false), "node2": .init(reachable: true, hasData: true), "node3": .init(reachable: true),
        ]
        for (name, field) in [("node1", "--from-member"), ("node9", "--from-member")] {
            do {
                _ = try EtcdRecoverPlan.plan(etcdHosts: hosts, facts: facts, source: .member(name), force: false)
                Issue.record("accepted \(name)")
            } catch let error as ClusterupError {
                #expect(error.location == field && error.message.contains(name))
            } catch { Issue.record("unexpected \(error)") }
        }
    }

    @Test func recoverFromASnapshotSeedsOnTheFirstReachableHost() throws {
        let facts: [String: EtcdRecoverPlan.HostFacts] = ["node2": .init(reachable: true), "node3": .init(reachable: true)]
        // node1 unreachable: refused without --force, left out with it.
        #expect(throws: ClusterupError.self) {
            try EtcdRecoverPlan.plan(etcdHosts: hosts, facts: facts, source: .snapshot("s.db"), force: false)
        }
        let plan = try EtcdRecoverPlan.plan(etcdHosts: hosts, facts: facts, source: .snapshot("s.db"), force: true)
        #expect(plan.seed == "node2" && plan.rejoin == ["node3"] && plan.leftOut == ["node1"])
    }

    @Test func snapshotTimeComesFromClusterupsNames() throws {
        let date = try #require(EtcdRecoverPlan.snapshotTime(fileName: "/b/etcd-lab-20261122T060000Z.db"))
        #expect(Reset.timestamp(date) == "20261122T060000Z")
        #expect(EtcdRecoverPlan.snapshotTime(fileName: "mine.db") == nil)
    }

    @Test func byteCountsReadAsPeopleWriteThem() {
        #expect(ByteCount(512).description == "512 B")
        #expect(ByteCount(1_048_576).description == "1.0 MiB")
        #expect(ByteCount(3 * 1024 * 1024 * 1024 / 2).description == "1.5 GiB")
    }
}
