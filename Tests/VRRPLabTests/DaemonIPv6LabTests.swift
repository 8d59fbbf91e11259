import Foundation
import Testing

/// clusterup-vrrpd with IPv6 VIPs in the network-namespace lab (lab/netns.sh): election,
/// takeover, unsolicited neighbour advertisements, checksums as tshark sees them, keepalived.
/// Part of the serialized DaemonLabTests suite: every lab of one test process shares its prefix.
extension DaemonLabTests {
    /// Each daemon runs an IPv6 and an IPv4 instance. The IPv6 master's SIGTERM hands both VIPs
    /// to the next priority, whose neighbour advertisement moves the client's neighbour entry.
    @Test(.enabled(if: DaemonIPv6Lab.hasTShark, "needs tshark (apt install tshark)"))
    func oneIPv6MasterHoldsTheVIPAndAStoppedMasterHandsItToTheBackupWithAnNA() throws {
        let lab = try DaemonLab(routers: 3)
        defer { lab.tearDown() }
        for n in 1...3 { try lab.waitForLinkLocal(router: n) }
        let r2 = try lab.mac(router: 2)
        // The takeover's NAs from router 2: Linux updates an existing neighbour entry from them.
        let naCapture = try lab.capture("na.pcapng", filter: "ether src \(r2) and icmp6 and ip6[40] == 136", packets: 2)
        let advertCapture = try lab.capture("vrrp6.pcapng", filter: "ip6 proto 112", packets: 10)
        defer { lab.stop(naCapture, advertCapture) }

        var daemons: [Process] = []
        // Priorities far apart: Skew_Time then differs by tens of ms, so the two backups do not
        // both take over on a loaded machine (that race is VRRP's, not what this test is about).
        for (n, priority) in [(1, 254), (2, 200), (3, 100)] {
            daemons.append(try lab.startDualStackDaemon(router: n, priority: priority))
        }
        let settled = lab.wait(timeout: 10) { lab.vip6Holders(1...3) == [1] && lab.vipHolders(1...3) == [1] }
        #expect(settled != nil, "IPv6 \(lab.vip6Holders(1...3)) IPv4 \(lab.vipHolders(1...3))\n\(lab.log("r1.log"))")

        let backup = try lab.instances(router: 2)
        let api6 = try #require(backup.first { $0["name"] as? String == "api6" })
        #expect(api6["family"] as? String == "ipv6")
        #expect(api6["state"] as? String == "Backup")
        #expect(api6["primary_address"] as? String == (try lab.linkLocal(router: 2)))
        #expect(api6["master_address"] as? String == (try lab.linkLocal(router: 1)))
        #expect(api6["vips"] as? [String] == ["\(DaemonIPv6Lab.vip6)/64"])
        #expect(backup.first { $0["name"] as? String == "api4" }?["master_address"] as? String == DaemonLab.address(1))
        let master6 = try #require(try lab.instances(router: 1).first { $0["name"] as? String == "api6" })
        #expect(master6["vips_installed"] as? [String] == ["\(DaemonIPv6Lab.vip6)/64"])
        #expect(((master6["counters"] as? [String: Any])?["na_sent"] as? Int ?? 0) >= 2)

        try lab.giveClientIPv6()
        lab.sendToVIP6FromClient()
        #expect(lab.wait(timeout: 5) { lab.clientNeighbourEntry() == (try? lab.mac(router: 1)) } != nil,
                "client entry: \(lab.clientNeighbourEntry() ?? "none")")

        daemons[0].terminate()  // SIGTERM: resigns with priority 0
        let moved = lab.wait(timeout: 10) { lab.vip6Holders(1...3) == [2] && lab.vipHolders(1...3) == [2] }
        #expect(moved != nil, "IPv6 \(lab.vip6Holders(1...3)) IPv4 \(lab.vipHolders(1...3))\n\(lab.log("r2.log"))")
        daemons[0].waitUntilExit()
        #expect(daemons[0].terminationStatus == 0)
        #expect(lab.log("r2.log").contains("event=transition instance=api6 vrid=61 from=Backup to=Master reason=\"\(try lab.linkLocal(router: 1)) resigned (priority 0)"),
                "\(lab.log("r2.log"))")
        let followed = lab.wait(timeout: 5) { lab.clientNeighbourEntry() == r2 } != nil
        #expect(followed, "the client's entry names \(lab.clientNeighbourEntry() ?? "none"), not the new master \(r2)\n\(followed ? "" : lab.neighbourDiagnostics())")
        // Each of the Backup's instances was woken by its own wake socket, whose filter reads the
        // VRRP message after the IPv4 header, and at its start over IPv6: one resignation each.
        let resigned = try lab.instances(router: 2)
        for name in ["api6", "api4"] {
            let counters = resigned.first { $0["name"] as? String == name }?["counters"] as? [String: Any]
            #expect(counters?["resignation_wakeups"] as? Int == 1, "\(name): \(counters ?? [:])")
        }

        // Both captures stop after their packet count; the timeout only catches a hang.
        #expect(lab.wait(timeout: 30, every: 0.1) { !naCapture.isRunning && !advertCapture.isRunning } != nil, "captures did not complete")
        // -n: no name resolution; a random MAC such as 02:07:5c:… otherwise prints as a vendor's
        // name ("MS-NLB-PhysServer-07_5c:c2:65:26"), which failed the link-layer check in CI once.
        let na = try DaemonLab.sh("tshark -n -r \(lab.path("na.pcapng")) -V -Y 'icmpv6.type == 136'")
        #expect(na.components(separatedBy: "[Checksum Status: Good]").count - 1 == 2, "\(na.prefix(3000))")
        #expect(na.contains("Target Address: \(DaemonIPv6Lab.vip6)"))
        #expect(na.contains("Destination Address: ff02::1"))
        #expect(na.contains("Hop Limit: 255"))
        #expect(na.contains("Flags: 0x20000000, Override"), "Override only: not Router, not Solicited")
        #expect(na.contains("Link-layer address: \(r2)"))
        let adverts = try DaemonLab.sh("tshark -n -r \(lab.path("vrrp6.pcapng")) -V -Y vrrp")
        #expect(adverts.components(separatedBy: "[Checksum Status: Good]").count - 1 == 10, "\(adverts.prefix(3000))")
        #expect(!adverts.contains("[Checksum Status: Bad]"))
        #expect(adverts.contains("Version 3, Packet type 1 (Advertisement)"))
        #expect(adverts.contains("Source Address: fe80::"))
        #expect(adverts.components(separatedBy: "Hop Limit: 255").count - 1 == 10)
    }

    /// Unicast mode between link-local peers: adverts go to the peer (scope = the interface), the
    /// backup names the master's link-local address, and SIGTERM hands the VIP over.
    @Test func ipv6UnicastPeersOnLinkLocalAddressesElectAndHandOver() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        for n in 1...2 { try lab.waitForLinkLocal(router: n) }
        let ll1 = try lab.linkLocal(router: 1), ll2 = try lab.linkLocal(router: 2)
        let master = try lab.startIPv6Daemon(router: 1, priority: 254, extra: "    unicast_peers: [\(ll2)]")
        try lab.startIPv6Daemon(router: 2, priority: 253, extra: "    unicast_peers: [\(ll1)]")
        #expect(lab.wait(timeout: 10) { lab.vip6Holders(1...2) == [1] } != nil, "\(lab.log("r1.log"))")
        #expect(lab.wait(timeout: 5) { (try? lab.status(router: 2)["master_address"] as? String) == ll1 } != nil)
        let backup = try lab.status(router: 2)
        #expect(backup["state"] as? String == "Backup")
        #expect(backup["unicast_peers"] as? [String] == [ll1])
        #expect(((backup["counters"] as? [String: Any])?["dropped_total"] as? Int) == 0, "\(backup)")

        master.terminate()
        #expect(lab.wait(timeout: 10) { lab.vip6Holders(1...2) == [2] } != nil, "\(lab.log("r2.log"))")
        #expect(lab.log("r2.log").contains("\(ll1) resigned (priority 0)"), "\(lab.log("r2.log"))")
    }

    /// After a link flap the link-local address is tentative for a while (DAD) and cannot be sent
    /// from: the master waits for it instead of taking over as a silent Master, then preempts.
    @Test func afterALinkFlapTheMasterWaitsForItsLinkLocalAddressBeforeTakingOver() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        for n in 1...2 { try lab.waitForLinkLocal(router: n) }
        try lab.startIPv6Daemon(router: 1, priority: 254)
        try lab.startIPv6Daemon(router: 2, priority: 253)
        #expect(lab.wait(timeout: 10) { lab.vip6Holders(1...2) == [1] } != nil, "\(lab.log("r1.log"))")

        try DaemonLab.sh("ip -n \(DaemonLab.ns("r1")) link set eth0 down")
        #expect(lab.wait(timeout: 10) { lab.vip6Holders(2...2) == [2] } != nil, "\(lab.log("r2.log"))")
        try DaemonLab.sh("ip -n \(DaemonLab.ns("r1")) link set eth0 up")
        let back = lab.wait(timeout: 15) {
            lab.vip6Holders(1...2) == [1] && (try? lab.status(router: 2)["state"] as? String) == "Backup"
        }
        #expect(back != nil, "\(lab.log("r1.log"))")
        let master = try lab.status(router: 1)
        #expect(master["state"] as? String == "Master")
        // Taking over during DAD (Master_Down_Interval is ~0.3 s, DAD ~1 s) fails every send.
        #expect(((master["counters"] as? [String: Any])?["send_errors"] as? Int) == 0, "\(lab.log("r1.log"))")
    }

    /// keepalived (with an IPv6 virtual_ipaddress, so it speaks VRRPv3 over IPv6) and
    /// clusterup-vrrpd in one VRID: each accepts the other's adverts and the priority decides.
    @Test func keepalivedAndVrrpdElectByPriorityOverIPv6() throws {
        let lab = try DaemonLab(routers: 2)
        defer { lab.tearDown() }
        for n in 1...2 { try lab.waitForLinkLocal(router: n) }
        try lab.startKeepalivedIPv6(router: 2, priority: 254, log: "ka2.log")
        try lab.startIPv6Daemon(router: 1, priority: 253)
        #expect(lab.wait(timeout: 10) { lab.vip6Holders(1...2) == [2] } != nil, "\(lab.log("ka2.log"))\n\(lab.log("r1.log"))")
        // Ours took keepalived's adverts as valid (checksum over the IPv6 pseudo-header) and backs off.
        #expect(lab.wait(timeout: 5) { (try? lab.status(router: 1)["master_address"] as? String) == (try? lab.linkLocal(router: 2)) } != nil)
        let backup = try lab.status(router: 1)
        #expect(backup["state"] as? String == "Backup", "\(backup)\n\(lab.log("r1.log"))\n\(lab.log("ka2.log"))")
        #expect(backup["master_priority"] as? Int == 254)
        #expect(((backup["counters"] as? [String: Any])?["dropped_total"] as? Int) == 0, "\(backup)")

        try lab.crash(router: 2)
        // A crashed node keeps its addresses: look at the survivor, then clear the leftover.
        #expect(lab.wait(timeout: 10) { lab.vip6Holders(1...1) == [1] } != nil, "\(lab.log("r1.log"))")
        try lab.removeVIP6(router: 2)

        // keepalived at a lower priority hears our adverts and stays Backup.
        try lab.startKeepalivedIPv6(router: 2, priority: 252, log: "ka2-again.log")
        #expect(lab.wait(timeout: 10) { lab.log("ka2-again.log").contains("Entering BACKUP STATE") } != nil, "\(lab.log("ka2-again.log"))")
        Thread.sleep(forTimeInterval: 1)  // 10 advert intervals, over 3 × Master_Down_Interval
        #expect(lab.vip6Holders(1...2) == [1])
        #expect(!lab.log("ka2-again.log").contains("Entering MASTER STATE"), "\(lab.log("ka2-again.log"))")
        #expect(try lab.status(router: 1)["state"] as? String == "Master")
    }
}

enum DaemonIPv6Lab {
    static var hasTShark: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") }
    static let vip6 = "2001:db8::62"
    static let client6 = "2001:db8::250"
}

extension DaemonLab {
    /// Router n's eth0 link-local address once duplicate address detection is over.
    func waitForLinkLocal(router n: Int) throws {
        guard wait(timeout: 10, every: 0.05, { (try? linkLocal(router: n)) != nil }) != nil else {
            throw LabError("r\(n) has no usable IPv6 link-local address:\n" + ((try? Self.sh("ip -n \(Self.ns("r\(n)")) -6 addr show dev eth0")) ?? ""))
        }
    }

    func linkLocal(router n: Int) throws -> String {
        let line = try Self.sh("ip -n \(Self.ns("r\(n)")) -6 -o addr show dev eth0 scope link -tentative")
        guard let word = line.split(separator: " ").first(where: { $0.hasPrefix("fe80:") }) else {
            throw LabError("no link-local address on r\(n)")
        }
        return String(word.split(separator: "/")[0])
    }

    /// Which router has which MAC, what the client's neighbour table and NA counter say, the logs.
    func neighbourDiagnostics() -> String {
        let macs = (1...3).map { "r\($0) \((try? mac(router: $0)) ?? "?")" }.joined(separator: ", ")
        let client = (try? Self.sh("ip -n \(Self.ns("c")) -6 neigh; ip netns exec \(Self.ns("c")) nstat -az Icmp6InNeighborAdvertisements")) ?? ""
        return "\(macs)\n\(client)\n\(log("r2.log"))\n\(log("r3.log"))"
    }

    func removeVIP6(router n: Int) throws {
        try Self.sh("ip -n \(Self.ns("r\(n)")) -6 addr flush dev eth0 scope global")
    }

    /// Routers (1-based) whose eth0 carries the IPv6 VIP.
    func vip6Holders(_ routers: ClosedRange<Int>) -> [Int] {
        routers.filter { n in
            ((try? Self.sh("ip -n \(Self.ns("r\(n)")) -6 -o addr show dev eth0")) ?? "").contains(" \(DaemonIPv6Lab.vip6)/")
        }
    }

    /// The IPv6 instance (VRID 61) every IPv6 lab daemon runs, as lines of `instances:`.
    func ipv6Instance(priority: Int) -> String {
        """
          - name: api6
            interface: eth0
            vrid: 61
            priority: \(priority)
            advert_interval: 100ms
            vips: [\(DaemonIPv6Lab.vip6)/64]
            garp: {repeat: 2, delay: 0s}
        """
    }

    @discardableResult
    func startIPv6Daemon(router n: Int, priority: Int, extra: String = "") throws -> Process {
        try write("r\(n).yaml", """
            status_socket: \(path("r\(n).sock"))
            instances:
            \(ipv6Instance(priority: priority))
            \(extra)
            """)
        return try start(router: n, [Self.daemonBinary, "--config", path("r\(n).yaml")], log: "r\(n).log")
    }

    /// One daemon, an IPv6 instance (VRID 61) and an IPv4 one (VRID 51) on the same interface.
    @discardableResult
    func startDualStackDaemon(router n: Int, priority: Int) throws -> Process {
        try write("r\(n).yaml", """
            status_socket: \(path("r\(n).sock"))
            instances:
            \(ipv6Instance(priority: priority))
              - name: api4
                interface: eth0
                vrid: 51
                priority: \(priority)
                advert_interval: 100ms
                vips: [\(Self.vip)/26]
                garp: {repeat: 2, delay: 0s}
            """)
        return try start(router: n, [Self.daemonBinary, "--config", path("r\(n).yaml")], log: "r\(n).log")
    }

    /// keepalived, its configuration rendered from the deploy template with an IPv6 VIP (which
    /// makes the instance IPv6: keepalived takes the family from the virtual addresses).
    @discardableResult
    func startKeepalivedIPv6(router n: Int, priority: Int, log: String) throws -> Process {
        let conf = try renderKeepalived(router: n, priority: priority, version: 3, advertInt: "0.1", vrid: 61,
                                        vip: DaemonIPv6Lab.vip6, prefix: 64)
        try write("\(log).conf", conf)
        return try start(router: n, ["/usr/sbin/keepalived", "-n", "-l", "-D", "-f", path("\(log).conf"),
                                     "-p", path("\(log).pid"), "-r", path("\(log)-vrrp.pid")], log: log)
    }

    func instances(router n: Int) throws -> [[String: Any]] {
        let text = try Self.sh("\(Self.daemonBinary) status --socket \(path("r\(n).sock"))")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return json?["instances"] as? [[String: Any]] ?? []
    }

    /// A capture on the LAN bridge that stops after `packets` matching packets (or 120 s).
    func capture(_ file: String, filter: String, packets: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        // Stops by itself: processes started from the test runner inherit blocked signals.
        p.arguments = ["netns", "exec", Self.ns("lan"), "tshark", "-q", "-a", "packets:\(packets)", "-a", "duration:120",
                       "-i", "cuvt-br0", "-f", filter, "-w", path(file)]
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        // tshark needs a moment to open the interface; its file appears once it captures.
        _ = wait(timeout: 10, every: 0.05) { FileManager.default.fileExists(atPath: path(file)) }
        return p
    }

    func stop(_ captures: Process...) {
        for p in captures where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in captures { p.waitUntilExit() }
    }

    /// An address from 2001:db8::/64 on the client (no DAD), so it reaches the VIP on-link.
    func giveClientIPv6() throws {
        try Self.sh("ip -n \(Self.ns("c")) -6 addr add \(DaemonIPv6Lab.client6)/64 dev eth0 nodad")
    }

    /// One UDP datagram from the client to the IPv6 VIP: the client resolves it (neighbour entry).
    func sendToVIP6FromClient() { sendToVIPFromClient(DaemonIPv6Lab.vip6) }

    /// The MAC the client's neighbour entry for the IPv6 VIP names, if any.
    func clientNeighbourEntry() -> String? { clientARPEntry(DaemonIPv6Lab.vip6) }
}
