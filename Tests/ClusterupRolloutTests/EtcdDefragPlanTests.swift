import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupRollout
import Testing

/// Which members `etcd defrag` takes, in which order, and where leadership goes first.
@Suite struct EtcdDefragPlanTests {
    func state(_ name: String, id: UInt64, leader: UInt64, size: Int64, inUse: Int64, answers: Bool = true) -> EtcdMemberState {
        let url = "https://198.51.100.\(10 + id):2379"
        return EtcdMemberState(
            member: EtcdMember(id: id, name: name, peerURLs: ["https://198.51.100.\(10 + id):2380"], clientURLs: [url]),
            status: answers ? EtcdEndpointStatus(endpoint: url, memberID: id, dbSize: size, dbSizeInUse: inUse, leader: leader) : nil)
    }

    @Test func onlyMembersAboveTheFreeThresholdAreDefragmented() throws {
        let states = [
            state("node1", id: 1, leader: 2, size: 100, inUse: 90),  // 10 % free
            state("node2", id: 2, leader: 2, size: 100, inUse: 50),  // 50 % free, leader
            state("node3", id: 3, leader: 2, size: 100, inUse: 80),  // 20 % free: at the threshold
        ]
        let plan = try EtcdDefragPlan.plan(states: states, selection: .minFree(0.2))
        #expect(plan.members.map(\.name) == ["node3", "node2"])
        #expect(plan.skipped.map(\.name) == ["node1"])
        #expect(plan.moveLeaderTo == "node3")
    }

    @Test func allTakesEveryMemberFollowersFirstTheLeaderLast() throws {
        let states = [
            state("node1", id: 1, leader: 1, size: 100, inUse: 100),
            state("node2", id: 2, leader: 1, size: 100, inUse: 100),
            state("node3", id: 3, leader: 1, size: 100, inUse: 100),
        ]
        let leaderLast = try EtcdDefragPlan.plan(states: states, selection: .all)
        #expect(leaderLast.members.map(\.name) == ["node2", "node3", "node1"])
        #expect(leaderLast.members.last?.isLeader == true)
        #expect(leaderLast.moveLeaderTo == "node2")
        // Followers keep the order given (the inventory's); only the leader moves.
        let middle = try EtcdDefragPlan.plan(states: [states[1], states[0], states[2]].map { s in
            var s = s
            s.status?.leader = 2
            return s
        }, selection: .all)
        #expect(middle.members.map(\.name) == ["node1", "node3", "node2"])
        #expect(middle.moveLeaderTo == "node1")
    }

    @Test func leaderNotSelectedMeansNoLeadershipMove() throws {
        let states = [
            state("node1", id: 1, leader: 1, size: 100, inUse: 95),
            state("node2", id: 2, leader: 1, size: 100, inUse: 10),
        ]
        let plan = try EtcdDefragPlan.plan(states: states, selection: .minFree(0.2))
        #expect(plan.members.map(\.name) == ["node2"])
        #expect(plan.moveLeaderTo == nil)
    }

    @Test func aSingleMemberIsDefragmentedWithoutAMove() throws {
        let plan = try EtcdDefragPlan.plan(states: [state("node1", id: 1, leader: 1, size: 100, inUse: 10)], selection: .all)
        #expect(plan.members.map(\.name) == ["node1"])
        #expect(plan.moveLeaderTo == nil)
    }

    @Test func refusesWhileAMemberDoesNotAnswer() {
        let states = [
            state("node1", id: 1, leader: 1, size: 100, inUse: 10),
            state("node2", id: 2, leader: 1, size: 100, inUse: 10, answers: false),
        ]
        do {
            _ = try EtcdDefragPlan.plan(states: states, selection: .all)
            Issue.record("planned a defrag with a member down")
        } catch let error as ClusterupError {
            #expect(error.kind == .badInput)
            #expect(error.message.contains("node2"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func refusesWhenMembersDisagreeOnTheLeader() {
        let states = [
            state("node1", id: 1, leader: 1, size: 100, inUse: 10),
            state("node2", id: 2, leader: 2, size: 100, inUse: 10),
        ]
        #expect(throws: ClusterupError.self) { try EtcdDefragPlan.plan(states: states, selection: .all) }
    }

}
