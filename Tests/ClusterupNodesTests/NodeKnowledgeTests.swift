import ClusterupCore
import ClusterupNodes
import Testing

@Suite("Node knowledge: etcdctl, HAProxy statistics, the VRRP daemon's status")
struct NodeKnowledgeTests {
    @Test func etcdctlTalksTLSToTheLocalMemberWithTheHealthCheckClient() {
        let line = Etcdctl.command("/usr/bin/etcdctl", "endpoint health")
        #expect(line.hasPrefix("ETCDCTL_API=3 /usr/bin/etcdctl --endpoints=https://127.0.0.1:2379 "))
        #expect(line.contains("--cacert=/etc/kubernetes/pki/etcd/ca.crt"))
        #expect(line.contains("--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt"))
        #expect(line.contains("--key=/etc/kubernetes/pki/etcd/healthcheck-client.key"))
        #expect(line.hasSuffix(" endpoint health"))
    }

    @Test func etcdctlQuotesItsPathAndTakesOtherEndpoints() {
        let line = Etcdctl.command("/opt/etcd v3/etcdctl", "member list", endpoints: "https://192.0.2.7:2379")
        #expect(line.contains("'/opt/etcd v3/etcdctl' --endpoints=https://192.0.2.7:2379 "))
    }

    static let csv = """
        # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight
        stats,FRONTEND,,,0,1,262120,3,0,0,0,0,0,,,,,OPEN,
        kube-apiservers,node1,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP,1
        kube-apiservers,node2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1
        kube-apiservers,node3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1
        kube-apiservers,BACKEND,0,0,0,1,,2,0,0,0,0,,0,0,0,0,UP,2
        other,node1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1
        """

    @Test func statisticsGiveEachApiserverItsStatusWord() {
        #expect(HAProxyStats.parse(Self.csv) == ["node1": "UP", "node2": "DOWN", "node3": "MAINT"])
        #expect(HAProxyStats.parse(Self.csv, backend: "other") == ["node1": "DOWN"])
    }

    @Test func noHeaderMeansHAProxyDidNotAnswer() {
        #expect(HAProxyStats.parse("curl: (7) Failed to connect") == nil)
        #expect(HAProxyStats.backendStatus("") == [:])
    }

    @Test func theStatisticsCommandAsksTheLoopbackListener() {
        #expect(HAProxyNode.statsCSVCommand.contains("http://127.0.0.1:\(HAProxyNode.statsPort)/stats;csv"))
    }

    @Test func daemonStatusDecodesTheFieldsItsReadersUse() throws {
        let json = """
            {"daemon":{"config":"/etc/clusterup/vrrpd.yaml","uptime_ms":5,"reloads":0},"instances":[
            {"name":"VI_1","interface":"host0","vrid":51,"state":"master","priority":150,"effective_priority":150,
             "master_address":null,"vips":["198.51.100.250/24"],"vips_installed":["198.51.100.250/24"]},
            {"name":"VI_2","interface":"host0","vrid":52,"state":"backup","priority":100,
             "master_address":"198.51.100.11","vips":["2001:db8::5/64"]}]}
            """
        let instances = try VRRPInstanceStatus.parse(json, host: "node1")
        #expect(instances.map(\.state) == ["master", "backup"])
        #expect(instances[0].vipsInstalled == ["198.51.100.250/24"])
        #expect(instances[0].effectivePriority == 150)
        #expect(instances[1].effectivePriority == nil)
        #expect(instances[1].masterAddress == "198.51.100.11")
        #expect(instances[1].vips == ["2001:db8::5/64"])
        #expect(instances[1].vipsInstalled == [])
    }

    @Test func unreadableDaemonStatusNamesTheHost() {
        #expect(throws: ClusterupError.self) { try VRRPInstanceStatus.parse("cannot connect to /run/clusterup-vrrpd.sock", host: "node2") }
        do {
            _ = try VRRPInstanceStatus.parse("{}", host: "node2")
            Issue.record("an object without instances was accepted")
        } catch {
            #expect("\(error)".contains("node2"))
        }
    }
}
