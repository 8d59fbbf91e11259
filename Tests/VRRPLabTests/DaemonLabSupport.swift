import Foundation
import Mustache
import Testing
import TestSupport

/// Network-namespace lab for the daemon's integration tests: lab/netns.sh builds a bridge
/// `cuvt-br0` inside netns `<prefix>lan` and routers `<prefix>r1...` at 198.51.100.201... on it.
/// The prefix is `cuvt-<pid>-`, so concurrent runs (other worktrees, the benchmark) never
/// touch each other's namespaces.
/// Everything started here is killed by pid, and the namespaces removed, in `tearDown()`.
final class DaemonLab {
    static let labScript = Repository.path("lab/netns.sh")
    static let vip = "198.51.100.240"
    static var daemonBinary: String { BuiltProgram.vrrpd.path }
    static let hasKeepalived = FileManager.default.isExecutableFile(atPath: "/usr/sbin/keepalived")

    let directory: String
    private var processes: [Process] = []
    /// VRRP_LAB_PREFIX_BASE (cuvt- or va-, as lab/netns.sh accepts) names the family.
    static let prefix = (ProcessInfo.processInfo.environment["VRRP_LAB_PREFIX_BASE"] ?? "cuvt-") + "\(String(getpid() % 100_000))-"
    static func ns(_ name: String) -> String { prefix + name }

    init(routers: Int) throws {
        directory = NSTemporaryDirectory() + "cuvt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = try BuiltProgram.vrrpd.require()
        try Self.sh("LAB_PREFIX=\(Self.prefix) \(Self.labScript) up \(routers)")
    }

    func tearDown() {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in processes { p.waitUntilExit() }
        _ = try? Self.sh("LAB_PREFIX=\(Self.prefix) \(Self.labScript) down")
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func address(_ router: Int) -> String { "198.51.100.\(200 + router)" }

    @discardableResult
    static func sh(_ command: String) throws -> String {
        let result = try ProcessRunner.shell(command, mergingStderr: true)
        guard result.succeeded else { throw LabError("`\(command)` failed (\(result.status)): \(result.output)") }
        return result.output
    }

    /// Starts a process inside router `n`'s namespace; output goes to `<dir>/<log>`.
    @discardableResult
    func start(router n: Int, _ arguments: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", Self.ns("r\(n)")] + arguments
        _ = FileManager.default.createFile(atPath: path(log), contents: nil)
        let handle = FileHandle(forWritingAtPath: path(log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        processes.append(p)
        return p
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }

    /// Starts clusterup-vrrpd in router n with one instance.
    @discardableResult
    func startDaemon(router n: Int, priority: Int, version: Int = 3, interval: String = "100ms",
                     extra: String = "", binary: String = DaemonLab.daemonBinary) throws -> Process {
        try write("r\(n).yaml", """
            status_socket: \(path("r\(n).sock"))
            instances:
              - name: api
                interface: eth0
                vrid: 51
                version: \(version)
                priority: \(priority)
                advert_interval: \(interval)
                vips: [\(Self.vip)/26]
                garp: {repeat: 2, delay: 0s}
            \(extra)
            """)
        return try start(router: n, [binary, "--config", path("r\(n).yaml")], log: "r\(n).log")
    }

    /// Starts keepalived in router n, its configuration rendered from templates/keepalived.conf.mustache.
    @discardableResult
    func startKeepalived(router n: Int, priority: Int, version: Int, advertInt: String) throws -> Process {
        try write("ka\(n).conf", renderKeepalived(router: n, priority: priority, version: version, advertInt: advertInt))
        return try start(router: n, ["/usr/sbin/keepalived", "-n", "-l", "-D", "-f", path("ka\(n).conf"),
                                     "-p", path("ka\(n).pid"), "-r", path("ka\(n)-vrrp.pid")], log: "ka\(n).log")
    }

    func renderKeepalived(router n: Int, priority: Int, version: Int, advertInt: String, vrid: Int = 51,
                          vip: String = DaemonLab.vip, prefix: Int = 26) throws -> String {
        let template = try MustacheTemplate(string: String(
            contentsOfFile: Repository.path("templates/keepalived.conf.mustache"), encoding: .utf8))
        let context: [String: Any] = [
            "router_id": Self.ns("r\(n)"), "version": version, "checksum_as_v2": false, "scripts": [Any](),
            "rt_priority": 10,  // as deploy renders it by default
            "instances": [[
                "name": "api", "interface": "eth0", "vrid": vrid, "priority": priority, "advert_int": advertInt,
                "preempt": true, "vips": [["address": vip, "prefix": prefix]],
                "garp_repeat": 2, "garp_delay": 0, "garp_refresh": 0,
                "has_unicast_peers": false, "unicast_peers": [String](), "has_track_scripts": false,
                "track_scripts": [String](), "has_track_interfaces": false, "track_interfaces": [String](),
                "notify": [String](),
            ] as [String: Any]],
        ]
        return template.render(context)
    }

    /// Kills every process in router n's namespace at once (a node failing). Only our own
    /// processes live in the cuvt- namespaces. Its addresses stay configured, as after a
    /// crash; tests look at the survivors.
    func crash(router n: Int) throws {
        try Self.sh("for p in $(ip netns pids \(Self.ns("r\(n)"))); do kill -9 $p; done")
    }

    /// Routers (1-based) whose eth0 carries the VIP.
    func vipHolders(_ routers: ClosedRange<Int>) -> [Int] {
        routers.filter { n in
            ((try? Self.sh("ip -n \(Self.ns("r\(n)")) -4 -o addr show dev eth0")) ?? "").contains(" \(Self.vip)/")
        }
    }

    /// Polls until `condition` holds, returning the seconds it took, or nil after `timeout`.
    func wait(timeout: Double, every: Double = 0.01, _ condition: () -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: every)
        }
        return nil
    }

    /// Router n's first instance in `clusterup-vrrpd status`.
    func status(router n: Int) throws -> [String: Any] {
        ((try fullStatus(router: n)["instances"] as? [[String: Any]])?.first) ?? [:]
    }

    /// Router n's whole `clusterup-vrrpd status` (the daemon's part and every instance).
    func fullStatus(router n: Int) throws -> [String: Any] {
        let text = try Self.sh("\(Self.daemonBinary) status --socket \(path("r\(n).sock"))")
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }
}

extension DaemonLab {
    /// Router n's eth0 MAC address.
    func mac(router n: Int) throws -> String {
        try Self.sh("cat /sys/class/net/eth0/address", inNamespace: Self.ns("r\(n)")).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One UDP datagram from the client to the VIP (discard port), so the client resolves it
    /// and has an ARP entry for it.
    func sendToVIPFromClient(_ address: String = DaemonLab.vip) {
        _ = try? Self.sh("ip netns exec \(Self.ns("c")) bash -c 'echo x >/dev/udp/\(address)/9'")
    }

    /// The MAC the client's ARP (or, for an IPv6 address, neighbour) entry for the VIP names, if any.
    func clientARPEntry(_ address: String = DaemonLab.vip) -> String? {
        let line = (try? Self.sh("ip -n \(Self.ns("c")) neigh show \(address) dev eth0")) ?? ""
        let words = line.split(separator: " ")
        guard let at = words.firstIndex(of: "lladdr"), at + 1 < words.count else { return nil }
        return String(words[at + 1])
    }

    /// Cuts router n off the LAN with its link up: the bridge drops its frames both ways.
    func partition(router n: Int) throws {
        try Self.sh("ip netns exec \(Self.ns("lan")) nft 'add table bridge vacut; add chain bridge vacut cut { type filter hook forward priority 0; policy accept; }; add rule bridge vacut cut iifname \"p-r\(n)\" drop; add rule bridge vacut cut oifname \"p-r\(n)\" drop'")
    }

    func heal() throws {
        try Self.sh("ip netns exec \(Self.ns("lan")) nft delete table bridge vacut")
    }

    /// Drops router n's outgoing ARP about `address` on its own interface's netdev egress hook (as
    /// `verify failover --mode network` cuts a node): the kernel refuses the daemon's gratuitous
    /// ARP with ENOBUFS.
    func blockOutgoingARP(router n: Int, about address: String = DaemonLab.vip) throws {
        try Self.sh("ip netns exec \(Self.ns("r\(n)")) nft 'add table netdev vaegress; add chain netdev vaegress out { type filter hook egress device \"eth0\" priority -300; policy accept; }; add rule netdev vaegress out ether type arp arp saddr ip \(address) drop'")
    }

    func unblockOutgoingARP(router n: Int) throws {
        try Self.sh("ip netns exec \(Self.ns("r\(n)")) nft delete table netdev vaegress")
    }

    static func sh(_ command: String, inNamespace namespace: String) throws -> String {
        try sh("ip netns exec \(namespace) \(command)")
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
