import ClusterupDeploy
import ClusterupNodes
import ClusterupRollout
import Testing

struct EtcdMemberOrderTests {
    @Test(arguments: [
        (["node1", "node2", "node3"], "node1", ["node2", "node3", "node1"]),
        (["node1", "node2", "node3"], "node2", ["node1", "node3", "node2"]),
        (["node1", "node2", "node3"], "node3", ["node1", "node2", "node3"]),
        // No known leader, or one outside the members to touch (a resumed run): the caller's order.
        (["node1", "node2", "node3"], nil, ["node1", "node2", "node3"]),
        (["node2", "node3"], "node1", ["node2", "node3"]),
    ] as [([String], String?, [String])])
    func followersFirstLeaderLast(members: [String], leader: String?, expected: [String]) {
        #expect(EtcdMemberOrder.order(members, leader: leader) == expected)
    }

    @Test func leadershipGoesToAMemberAlreadyDone() {
        let order = ["node2", "node3", "node1"]
        let started: Set = ["node1", "node2", "node3"]
        // node1 leads and comes last: node2 and node3 are done, the first of them takes over.
        #expect(EtcdMemberOrder.successor(of: "node1", leader: "node1", order: order, done: ["node2", "node3"], started: started) == "node2")
        #expect(EtcdMemberOrder.successor(of: "node1", leader: "node1", order: order, done: ["node3"], started: started) == "node3")
        // Nothing done yet (the leader changed mid-run): any other started member.
        #expect(EtcdMemberOrder.successor(of: "node1", leader: "node1", order: order, done: [], started: started) == "node2")
        // A member not started cannot lead.
        #expect(EtcdMemberOrder.successor(of: "node1", leader: "node1", order: order, done: ["node2", "node3"], started: ["node1", "node3"]) == "node3")
    }

    @Test func aFollowerNeedsNoMove() {
        #expect(EtcdMemberOrder.successor(of: "node2", leader: "node1", order: ["node2", "node1"], done: [], started: ["node1", "node2"]) == nil)
        #expect(EtcdMemberOrder.successor(of: "node1", leader: "node1", order: ["node1"], done: [], started: ["node1"]) == nil)
    }

    static let status = """
        [{"Endpoint":"https://198.51.100.2:2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801,"revision":12,"raft_term":3},"version":"3.4.23","dbSize":20480,"leader":9372538179322589801,"raftIndex":41,"raftTerm":3,"raftAppliedIndex":41,"dbSizeInUse":16384}},\
        {"Endpoint":"https://198.51.100.3:2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":10501334649042878790,"revision":12,"raft_term":3},"version":"3.5.16","dbSize":20480,"leader":9372538179322589801,"raftIndex":41,"raftTerm":3,"raftAppliedIndex":39,"dbSizeInUse":16384}}]
        """

    @Test func endpointStatusIsRead() throws {
        let statuses = try EtcdEndpointStatus.parse(Self.status, host: "node1")
        #expect(statuses.count == 2)
        #expect(statuses[0].memberID == 9372538179322589801 && statuses[0].leader == 9372538179322589801)
        #expect(statuses[1].raftIndex == 41 && statuses[1].raftAppliedIndex == 39 && statuses[1].version == "3.5.16")
        #expect(throws: (any Error).self) { try EtcdEndpointStatus.parse("Error: context deadline exceeded", host: "node1") }
    }

    @Test func theViewNamesTheLeaderByMemberName() throws {
        let members = [
            EtcdMember(id: 9372538179322589801, name: "node1", peerURLs: ["https://198.51.100.2:2380"]),
            EtcdMember(id: 10501334649042878790, name: "node2", peerURLs: ["https://198.51.100.3:2380"]),
            EtcdMember(id: 7, name: "", peerURLs: ["https://198.51.100.4:2380"]),
        ]
        let view = EtcdClusterView(members: members, statuses: try EtcdEndpointStatus.parse(Self.status, host: "node1"))
        #expect(view.leader == "node1")
        #expect(view.started == ["node1", "node2"])
        #expect(view.statuses["node2"]?.raftAppliedIndex == 39)
        // Endpoints that disagree on the leader: no leader.
        var split = view
        split.statuses["node2"]?.leader = 10501334649042878790
        #expect(split.leader == nil)
    }

    @Test func caughtUpMeansAppliedWhatTheLeaderHadAtTheStart() throws {
        let behind = try EtcdEndpointStatus.parse(Self.status, host: "node1")[1]
        #expect(!EtcdMemberOrder.caughtUp(behind, leaderIndexAtStart: 41))
        #expect(EtcdMemberOrder.caughtUp(behind, leaderIndexAtStart: 39))
        #expect(EtcdMemberOrder.caughtUp(behind, leaderIndexAtStart: 12))
    }
}
