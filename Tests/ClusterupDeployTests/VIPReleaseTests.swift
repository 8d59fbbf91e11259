import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// reset on the VIP holder hands the VIP over before anything else stops, and forwards what still
/// reaches it meanwhile. The script runs under /bin/sh with stand-ins for ip, ss, systemctl and sleep.
@Suite struct VIPReleaseTests {
    /// Runs the reset script of `plan` with `ip` answering that this host holds the VIP `heldFor`
    /// times. Returns the script's output and the stand-ins' log, one `systemctl` call a line with
    /// the forwarding switch's value at that moment.
    static func run(_ plan: ResetPlan, heldFor: Int) throws -> (output: String, log: [String], forwardingAfter: String) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cu-viprelease-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var plan = plan
        plan.vipRelease?.forwarding = scratch + "/ip_forward"
        plan.units = plan.units.filter { ["clusterup-vrrpd.service", "haproxy.service", "etcd.service", "kube-apiserver.service"].contains($0) }
        plan.paths = []
        plan.managedConfigs = []
        plan.etcdDataDirectory = scratch + "/etcd"
        plan.keptDirectory = scratch + "/backups"
        try "0\n".write(toFile: scratch + "/ip_forward", atomically: true, encoding: .utf8)
        try "0".write(toFile: scratch + "/held", atomically: true, encoding: .utf8)
        let stubs = [
            // Holds the VIP for the first `heldFor` calls, as a VRRP daemon that releases it on stop.
            // `ip neigh …` is logged; any other call answers whether the VIP is still held.
            "ip": "if [ \"$1\" = neigh ]; then echo \"ip $*\" >> \(scratch)/log; exit 0; fi; n=$(cat \(scratch)/held); echo $((n+1)) > \(scratch)/held; if [ $n -lt \(heldFor) ]; then echo '2: eth0    inet 198.51.100.62/26 scope global eth0'; fi",
            "ss": "exit 0",
            "sleep": "exit 0",
            // Records the rules it is given (stdin) and the tables it deletes.
            "nft": "if [ \"$1\" = -f ]; then echo \"nft load $(tr '\\n' ' ')\" >> \(scratch)/log; elif [ \"$1\" = delete ]; then echo \"nft delete $2 $3 $4\" >> \(scratch)/log; fi; exit 0",
            "systemctl": """
                case "$1" in
                  is-active) if grep -q "^stop $2 " \(scratch)/log 2>/dev/null; then echo inactive; else echo active; fi ;;
                  stop) echo "stop $2 forward=$(cat \(scratch)/ip_forward)" >> \(scratch)/log ;;
                esac
                """,
        ]
        for (name, body) in stubs {
            try "#!/bin/sh\n\(body)\n".write(toFile: "\(scratch)/\(name)", atomically: true, encoding: .utf8)
            chmod("\(scratch)/\(name)", 0o755)
        }
        let output = try ProcessRunner.shell(plan.script(timestamp: "t", lockDirectory: scratch + "/lock"),
                                             environment: ["PATH": scratch + ":/usr/bin:/bin"]).stdout
        let log = (try? String(contentsOfFile: scratch + "/log", encoding: .utf8)) ?? ""
        let after = try String(contentsOfFile: scratch + "/ip_forward", encoding: .utf8)
        return (output, log.split(separator: "\n").map(String.init), after.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func theHolderStopsItsVRRPDaemonFirstWithForwardingOnAndEverythingElseAfterItIsBackOff() throws {
        let inventory = try operationsInventory()
        let plan = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
        #expect(plan.vipRelease == VIPRelease(address: "198.51.100.62", port: 8443, vrrp: inventory.vrrp))
        #expect(plan.vipRelease?.dwellTenths == VIPRelease.dwellTenths(for: try #require(inventory.vrrp)))
        let run = try Self.run(plan, heldFor: 3)
        #expect(run.log.filter { $0.hasPrefix("stop") } == ["stop clusterup-vrrpd.service forward=1", "stop haproxy.service forward=0", "stop etcd.service forward=0", "stop kube-apiserver.service forward=0"],
                "\(run.output)")
        #expect(run.forwardingAfter == "0")
        // Its neighbour entry for the VIP (left from when another host held it) is gone before
        // the VIP leaves: a forwarded SYN waits for the new holder's address instead.
        #expect(run.log.prefix(2) == ["ip neigh flush to 198.51.100.62", "stop clusterup-vrrpd.service forward=1"], "\(run.log)")
        #expect(ResetOutcome.parse(run.output).handedOver == "198.51.100.62")
        #expect(ResetOutcome.parse(run.output).forwardedDuringHandover)
        #expect(ResetOutcome.parse(run.output).stopped == ["clusterup-vrrpd.service", "haproxy.service", "etcd.service", "kube-apiserver.service"])
    }

    @Test func aHostWithoutTheVIPNeverTouchesForwardingAndHandsNothingOver() throws {
        let inventory = try operationsInventory()
        let plan = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
        let run = try Self.run(plan, heldFor: 0)
        #expect(run.log.filter { $0.hasPrefix("stop") } == ["stop clusterup-vrrpd.service forward=0", "stop haproxy.service forward=0", "stop etcd.service forward=0", "stop kube-apiserver.service forward=0"])
        #expect(ResetOutcome.parse(run.output).handedOver == nil)
        #expect(!ResetOutcome.parse(run.output).forwardedDuringHandover)
        #expect(!run.log.contains { $0.hasPrefix("ip neigh") }, "\(run.log)")
    }

    @Test func aRunningApiserverRefusesNewConnectionsBeforeAnythingStopsAndTheRuleGoesAfterEverythingStopped() throws {
        let inventory = try operationsInventory()
        let plan = ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside)
        #expect(plan.apiserverRefusal == APIServerRefusal())
        let run = try Self.run(plan, heldFor: 0)
        let load = try #require(run.log.firstIndex { $0.hasPrefix("nft load") }, "\(run.log)")
        #expect(run.log[load].contains("tcp dport 6443 tcp flags & (syn | ack) == syn reject with tcp reset"), "\(run.log)")
        let firstStop = try #require(run.log.firstIndex { $0.hasPrefix("stop") })
        let apiserverStop = try #require(run.log.firstIndex { $0.hasPrefix("stop kube-apiserver") })
        let lift = try #require(run.log.firstIndex { $0 == "nft delete table inet clusterup_retire" }, "\(run.log)")
        #expect(load < firstStop && apiserverStop < lift, "\(run.log)")
        #expect(ResetOutcome.parse(run.output).refusedNewAPIServerConnections)
    }

    @Test func withoutLbHostsThereIsNoVIPToRelease() throws {
        let inventory = try InventoryLoader(environment: [:], homeDirectory: "/nonexistent", currentDirectory: "/tmp").parse(yaml: """
            cluster: demo
            hosts:
              - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane]}
            """, path: "/tmp/demo.yml")
        #expect(ResetPlan.plan(inventory: inventory, settings: inventory.deploy, etcdData: .moveAside).vipRelease == nil)
    }

    /// The old holder forwards for the backup's longest Skew_Time (VRRPv3: one advert interval;
    /// VRRPv2: 1 s) plus 0.5 s for the gratuitous ARP, not a fixed 2 s.
    @Test(arguments: [
        (3, 10, 6), (3, 100, 6), (3, 250, 8), (3, 1000, 15), (3, 3000, 35), (2, 1000, 15), (2, 3000, 35),
    ])
    func theDwellCoversTheBackupsSkewTimeAndItsGratuitousARP(version: Int, intervalMs: Int, tenths: Int) throws {
        let vrrp = VRRPSettings(version: version, advertInterval: .milliseconds(intervalMs))
        #expect(VIPRelease.dwellTenths(for: vrrp) == tenths)
        let release = VIPRelease(address: "198.51.100.62", port: 8443, vrrp: vrrp)
        #expect(release.script(stoppingFirst: ["systemctl stop clusterup-vrrpd.service\n"]).contains("\n  sleep \(tenths / 10).\(tenths % 10)\n"))
    }
}
