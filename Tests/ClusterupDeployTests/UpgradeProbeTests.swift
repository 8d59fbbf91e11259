import ClusterupCore
import Testing
@testable import ClusterupDeploy

/// `upgrade plan`'s probe and its parsers, on output as the programs print it.
@Suite struct UpgradeProbeTests {
    @Test func theProbeAsksEachProgramOfTheHostsRolesForItsVersionTheVIPAndTheDaemonsBuild() throws {
        let inventory = try operationsInventory()
        let script = UpgradeProbe.script(for: try #require(inventory.host(named: "node1")), inventory: inventory, settings: inventory.deploy)
        for line in ["echo '@@version etcd'; /usr/bin/etcd --version", "echo '@@version haproxy'; /usr/sbin/haproxy -v",
                     "echo '@@version clusterup-vrrpd'; /usr/local/bin/clusterup-vrrpd --version",
                     "echo '@@version kube-apiserver'; /usr/local/bin/kube-apiserver --version", "ip -o addr show | grep -F ' 198.51.100.62/'",
                     "cat /etc/clusterup/clusterup-vrrpd.sha256"] {
            #expect(script.contains(line), "\(line)")
        }
    }

    @Test func versionsTheBuildAndTheVIPAreReadFromTheProbe() throws {
        let inventory = try operationsInventory()
        let output = """
            @@version etcd
            etcd Version: 3.4.23
            Git SHA: Not provided (use ./build instead of go build)
            @@version haproxy
            HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/
            @@version clusterup-vrrpd
            clusterup-vrrpd 0.1.0
            @@version kube-apiserver
            Kubernetes v1.31.2 (clusterup lab stand-in, not Kubernetes)
            @@version kube-scheduler
            bash: line 1: kube-scheduler: command not found
            @@addr
            2: host0    inet 198.51.100.62/26 scope global secondary host0
            @@vrrpd-build
            4f2a00000000000000000000000000000000000000000000000000000000abcd  /usr/local/bin/clusterup-vrrpd

            """
        let reading = try UpgradeProbe.parse(output, host: try #require(inventory.host(named: "node1")), inventory: inventory)
        #expect(reading.holdsVIP)
        let installed = reading.versions.installed
        #expect(installed[.etcd]?.version == ComponentVersion(major: 3, minor: 4, patch: 23))
        #expect(installed[.haproxy]?.version?.text == "2.6.12-1+deb12u1")
        #expect(installed[.kubeAPIServer]?.display == "v1.31.2")
        #expect(installed[.clusterupVRRPD]?.build == "4f2a00000000000000000000000000000000000000000000000000000000abcd")
        #expect(installed[.kubeScheduler]?.isInstalled == false)
        #expect(installed[.etcd]?.build == nil)
    }

    // etcdctl 3.4's JSON: IDs are unsigned 64-bit numbers, above Int64's range here.
    static let members = """
        {"header":{"cluster_id":17237436991929493444,"member_id":10501334649042878790,"raft_term":3},"members":[\
        {"ID":9372538179322589801,"name":"node1","peerURLs":["https://198.51.100.11:2380"],"clientURLs":["https://198.51.100.11:2379"]},\
        {"ID":10501334649042878790,"name":"node2","peerURLs":["https://198.51.100.12:2380"],"clientURLs":["https://198.51.100.12:2379"]},\
        {"ID":18249187646912138824,"name":"node3","peerURLs":["https://198.51.100.13:2380"],"clientURLs":["https://198.51.100.13:2379"]}]}
        """

    static func status(leaders: [UInt64]) -> String {
        "[" + leaders.enumerated().map { index, leader in
            #"{"Endpoint":"https://198.51.100.1\#(index + 1):2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":1,"revision":7,"raft_term":3},"version":"3.4.23","dbSize":20480,"leader":\#(leader),"raftIndex":42,"raftTerm":3,"raftAppliedIndex":42,"dbSizeInUse":20480}}"#
        }.joined(separator: ",") + "]"
    }

    @Test func theLeaderIsTheMemberEveryEndpointNames() throws {
        let output = "@@members\n\(Self.members)\n@@status\n\(Self.status(leaders: [10501334649042878790, 10501334649042878790, 10501334649042878790]))\n"
        #expect(try UpgradeProbe.parseLeader(output, host: "node1") == "node2")
    }

    @Test func endpointsDisagreeingOnTheLeaderIsAnError() {
        let output = "@@members\n\(Self.members)\n@@status\n\(Self.status(leaders: [10501334649042878790, 9372538179322589801, 10501334649042878790]))\n"
        #expect(throws: ClusterupError.self) { try UpgradeProbe.parseLeader(output, host: "node1") }
    }
}
