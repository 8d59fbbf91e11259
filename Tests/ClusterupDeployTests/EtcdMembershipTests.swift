import Testing
@testable import ClusterupDeploy

@Suite struct EtcdMembershipTests {
    let n1 = EtcdPeer(name: "node1", address: "198.51.100.11")
    let n2 = EtcdPeer(name: "node2", address: "198.51.100.12")
    let n3 = EtcdPeer(name: "node3", address: "198.51.100.13")

    func member(_ peer: EtcdPeer, id: UInt64, started: Bool = true) -> EtcdMember {
        EtcdMember(id: id, name: started ? peer.name : "", peerURLs: [peer.peerURL], clientURLs: started ? [peer.clientURL] : [])
    }

    @Test func noMembersAndNoDataBootstrapsAll() throws {
        #expect(try EtcdMembershipPlan.plan(desired: [n1, n2, n3], members: nil, hostsWithData: []) == .bootstrap([n1, n2, n3]))
        #expect(EtcdMembershipPlan.initialCluster(bootstrapping: [n1, n2]) ==
                "node1=https://198.51.100.11:2380,node2=https://198.51.100.12:2380")
    }

    @Test func dataWithoutAnAnsweringMemberRefusesToBootstrap() {
        #expect(throws: (any Error).self) {
            try EtcdMembershipPlan.plan(desired: [n1, n2], members: nil, hostsWithData: ["node1"])
        }
    }

    @Test func unchangedMembershipIsNoChange() throws {
        let members = [member(n1, id: 1), member(n2, id: 2), member(n3, id: 3)]
        #expect(try EtcdMembershipPlan.plan(desired: [n1, n2, n3], members: members, hostsWithData: ["node1", "node2", "node3"]).isNoChange)
    }

    @Test func aNewHostJoinsWithTheStartedMembersInItsInitialCluster() throws {
        let members = [member(n1, id: 1), member(n2, id: 2)]
        #expect(try EtcdMembershipPlan.plan(desired: [n1, n2, n3], members: members, hostsWithData: ["node1", "node2"])
                == .reconcile(join: [n3], remove: []))
        #expect(EtcdMembershipPlan.initialCluster(joining: n3, members: members) ==
                "node1=https://198.51.100.11:2380,node2=https://198.51.100.12:2380,node3=https://198.51.100.13:2380")
    }

    @Test func anAddedButNeverStartedMemberJoinsAgain() throws {
        let members = [member(n1, id: 1), member(n2, id: 2), member(n3, id: 3, started: false)]
        #expect(try EtcdMembershipPlan.plan(desired: [n1, n2, n3], members: members, hostsWithData: ["node1", "node2"])
                == .reconcile(join: [n3], remove: []))
    }

    @Test func aHostDroppedFromTheInventoryIsRemoved() throws {
        let members = [member(n1, id: 1), member(n2, id: 2), member(n3, id: 0xabc)]
        let plan = try EtcdMembershipPlan.plan(desired: [n1, n2], members: members, hostsWithData: ["node1", "node2"])
        #expect(plan == .reconcile(join: [], remove: [members[2]]))
        #expect(members[2].hexID == "abc")
    }

    @Test func droppingEveryMemberIsRefused() {
        let members = [member(n1, id: 1)]
        #expect(throws: (any Error).self) {
            try EtcdMembershipPlan.plan(desired: [n2], members: members, hostsWithData: [])
        }
    }

    @Test func parsesEtcdctlJSON() throws {
        let json = #"{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801,"raft_term":2},"members":[{"ID":9372538179322589801,"name":"node1","peerURLs":["https://198.51.100.11:2380"],"clientURLs":["https://198.51.100.11:2379"]},{"ID":10501334649042878790,"peerURLs":["https://198.51.100.13:2380"]}]}"#
        let members = try EtcdMember.parseList(json, host: "node1")
        #expect(members.count == 2)
        #expect(members[0].id == 9372538179322589801)
        #expect(members[1].id == 10501334649042878790)
        #expect(!members[1].isStarted)
    }

    @Test func ipv6PeersAreBracketed() {
        #expect(EtcdPeer(name: "a", address: "2001:db8::1").peerURL == "https://[2001:db8::1]:2380")
    }
}
