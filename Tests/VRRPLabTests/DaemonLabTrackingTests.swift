import Foundation
import Testing

/// Health tracking, notify hooks and SIGHUP reload of the real binary in network namespaces
/// (part of the serialized DaemonLabTests suite: lab tests are timing-sensitive).
extension DaemonLabTests {
    @Test func aFailingWeightZeroScriptPutsTheMasterInFaultAndTheVIPMoves() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        let healthy = lab.path("healthy")
        try lab.write("healthy", "")
        try lab.startDaemon(router: 1, priority: 254, extra: """
                track:
                  scripts:
                    - {name: marker, command: "test -e \(healthy)", interval: 100ms, weight: 0}
                notify: ["echo >>\(lab.path("notify.log"))"]
            """)
        try lab.startDaemon(router: 2, priority: 253)
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...2) == [1] } != nil, "\(lab.log("r1.log"))")

        try FileManager.default.removeItem(atPath: healthy)
        #expect(lab.wait(timeout: 2) { lab.vipHolders(1...2) == [2] } != nil, "\(lab.log("r1.log"))")
        #expect(try lab.status(router: 1)["state"] as? String == "Fault")
        #expect(try lab.status(router: 1)["effective_priority"] as? Int == 0)

        try lab.write("healthy", "")
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...2) == [1] } != nil, "\(lab.log("r1.log"))")
        let notified = lab.log("notify.log")
        #expect(notified.contains("INSTANCE api MASTER 254"), "\(notified)")
        #expect(notified.contains("INSTANCE api FAULT 0"), "\(notified)")
    }

    @Test func aRefusedTCPCheckKeepsTheRouterInFault() throws {
        let lab = try DaemonLab(routers: 1)
        defer { lab.tearDown() }
        try lab.startDaemon(router: 1, priority: 254, extra: """
                track:
                  tcp:
                    - {address: "127.0.0.1:9", interval: 100ms, timeout: 100ms}
            """)
        Thread.sleep(forTimeInterval: 0.8)
        let status = try lab.status(router: 1)
        #expect(status["state"] as? String == "Fault")
        #expect(((status["checks"] as? [[String: Any]])?.first?["detail"] as? String)?.contains("refused") == true)
        #expect(lab.vipHolders(1...1).isEmpty)
    }

    @Test func aTrackedInterfaceGoingDownPutsTheMasterInFault() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        try DaemonLab.sh("ip -n \(DaemonLab.ns("r1")) link add trk0 type veth peer name trk1 && ip -n \(DaemonLab.ns("r1")) link set trk0 up && ip -n \(DaemonLab.ns("r1")) link set trk1 up")
        try lab.startDaemon(router: 1, priority: 254, extra: """
                track:
                  interfaces: [trk0]
            """)
        try lab.startDaemon(router: 2, priority: 253)
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...2) == [1] } != nil, "\(lab.log("r1.log"))")
        // Carrier loss, as when the cable of a tracked uplink is pulled.
        try DaemonLab.sh("ip -n \(DaemonLab.ns("r1")) link set trk1 down")
        #expect(lab.wait(timeout: 2) { lab.vipHolders(1...2) == [2] } != nil, "\(lab.log("r1.log"))")
        #expect(try lab.status(router: 1)["state"] as? String == "Fault")
    }

    @Test func reloadAddsAVIPWithoutLeavingMaster() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        let master = try lab.startDaemon(router: 1, priority: 254)
        try lab.startDaemon(router: 2, priority: 253)
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...2) == [1] } != nil)
        let before = try lab.status(router: 1)["counters"] as? [String: Any]

        let config = lab.log("r1.yaml").replacingOccurrences(of: "vips: [\(DaemonLab.vip)/26]",
                                                             with: "vips: [\(DaemonLab.vip)/26, 198.51.100.241/26]")
        try lab.write("r1.yaml", config)
        kill(master.processIdentifier, SIGHUP)
        let added = lab.wait(timeout: 2) {
            ((try? DaemonLab.sh("ip -n \(DaemonLab.ns("r1")) -4 -o addr show dev eth0")) ?? "").contains(" 198.51.100.241/26")
        }
        #expect(added != nil, "\(lab.log("r1.log"))")
        let after = try lab.status(router: 1)
        #expect(after["state"] as? String == "Master")
        #expect((after["counters"] as? [String: Any])?["transitions"] as? Int == before?["transitions"] as? Int)
        #expect(lab.log("r1.log").contains("event=reload kept=api"))
    }

    @Test func reloadSetsTheEventLoopsSchedulingBothWays() throws {
        let lab = try DaemonLab(routers: 1)
        defer { lab.tearDown() }
        let daemon = try lab.startDaemon(router: 1, priority: 254)
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...1) == [1] } != nil)
        // Policy and realtime priority of the event loop (the main thread): /proc/PID/stat
        // fields 41 and 40, counted after the parenthesised command name.
        func scheduling() throws -> [Int] {
            let stat = try String(contentsOfFile: "/proc/\(daemon.processIdentifier)/stat", encoding: .utf8)
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            return [Int(fields[38]) ?? -1, Int(fields[37]) ?? -1]  // field n is fields[n - 3]
        }
        #expect(try scheduling() == [Int(SCHED_RR), 10], "default realtime_priority")
        let config = lab.log("r1.yaml")
        for (priority, expected) in [(0, [Int(SCHED_OTHER), 0]), (20, [Int(SCHED_RR), 20])] {
            try lab.write("r1.yaml", "realtime_priority: \(priority)\n" + config)
            let reloads = lab.log("r1.log").components(separatedBy: "event=reload ").count
            kill(daemon.processIdentifier, SIGHUP)
            #expect(lab.wait(timeout: 2) { lab.log("r1.log").components(separatedBy: "event=reload ").count > reloads } != nil)
            #expect(try scheduling() == expected, "realtime_priority \(priority)\n\(lab.log("r1.log"))")
        }
        #expect(try lab.status(router: 1)["state"] as? String == "Master")
    }

    @Test func aBrokenConfigurationOnReloadIsRejectedAndTheOldOneKeepsRunning() throws {
        let lab = try DaemonLab(routers: 1)
        defer { lab.tearDown() }
        let daemon = try lab.startDaemon(router: 1, priority: 254)
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...1) == [1] } != nil)
        try lab.write("r1.yaml", "instances: [\n")
        kill(daemon.processIdentifier, SIGHUP)
        #expect(lab.wait(timeout: 2) { lab.log("r1.log").contains("event=reload-rejected") } != nil)
        #expect(try lab.status(router: 1)["state"] as? String == "Master")
    }
}

extension DaemonLabTests {
    @Test func unicastPeersElectOneMasterAndFailOverWithoutMulticast() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        for n in 1...2 {
            try lab.startDaemon(router: n, priority: 255 - n, extra: """
                    unicast_src: \(DaemonLab.address(n))
                    unicast_peers: [\(DaemonLab.address(3 - n))]
                """)
        }
        #expect(lab.wait(timeout: 3) { lab.vipHolders(1...2) == [1] } != nil, "\(lab.log("r1.log"))")
        let backup = try lab.status(router: 2)
        #expect(backup["state"] as? String == "Backup")
        #expect(backup["master_address"] as? String == DaemonLab.address(1))
        // No membership of 224.0.0.18 in unicast mode.
        let groups = try DaemonLab.sh("ip -n \(DaemonLab.ns("r1")) maddr show dev eth0")
        #expect(!groups.contains("224.0.0.18"))

        try lab.crash(router: 1)
        #expect(lab.wait(timeout: 2) { lab.vipHolders(2...2) == [2] } != nil, "\(lab.log("r2.log"))")
    }
}
