import VRRP
import TextFormats
import VRRPConfig

// The daemon's configuration, decoded from the YAML subset. The format is documented in
// docs/clusterup-vrrpd.md; deploy writes it from the inventory's `vrrp` section.

public struct DaemonConfig: Sendable, Equatable {
    public var statusSocket: String
    public var prometheus: SocketAddress4?
    /// SCHED_RR priority of the event loop (0: normal scheduling).
    public var realtimePriority: Int = DaemonConfig.defaultRealtimePriority
    public var instances: [InstanceConfig]

    public static let defaultStatusSocket = "/run/clusterup-vrrpd.sock"
    public static let defaultRealtimePriority = 10
}

/// What the v3 checksum covers: the core's `VRRPChecksumMode` (pseudo-header or message-only).
public typealias ChecksumMode = VRRPChecksumMode

public struct GARPConfig: Sendable, Equatable {
    /// Gratuitous ARPs per VIP in each burst (keepalived garp_master_repeat).
    public var repeatCount: Int = 5
    /// Gap between the ARPs of one burst (keepalived garp_interval).
    public var interval: Duration = .zero
    /// Second burst this long after takeover; zero for none (keepalived garp_master_delay).
    public var delay: Duration = .seconds(5)
    /// While master, a burst every `refresh`; zero for none (keepalived garp_master_refresh).
    public var refresh: Duration = .zero
}

/// What every check shares: how often, how long, how many results flip it, and what it does.
public struct CheckTiming: Sendable, Equatable {
    public var interval: Duration = .seconds(1)
    public var timeout: Duration = .seconds(1)
    /// Consecutive successes that make a failed check good again.
    public var rise: Int = 1
    /// Consecutive failures that make a good check fail.
    public var fall: Int = 1
    /// 0: failing puts the instance in FAULT. > 0: added to the priority while good.
    /// < 0: added to the priority while failing. (keepalived's semantics.)
    public var weight: Int = 0
}

public struct ScriptCheck: Sendable, Equatable {
    public var name: String
    public var command: String
    public var timing: CheckTiming
}

public struct HTTPCheck: Sendable, Equatable {
    public var url: String
    public var tls: Bool
    public var target: SocketAddress4
    public var host: String
    public var path: String
    public var expectStatus: Int
    public var timing: CheckTiming
}

public struct TCPCheck: Sendable, Equatable {
    public var target: SocketAddress4
    public var timing: CheckTiming
}

public struct TrackConfig: Sendable, Equatable {
    public var interfaces: [String] = []
    public var scripts: [ScriptCheck] = []
    public var http: [HTTPCheck] = []
    public var tcp: [TCPCheck] = []
}

public struct InstanceConfig: Sendable, Equatable {
    public var name: String
    public var interface: String
    public var vrid: UInt8
    public var version: VRRPVersion
    public var priority: UInt8
    public var advertInterval: Duration
    public var vips: [VirtualAddress]
    public var preempt: Bool
    public var preemptDelay: Duration
    /// VRRPv3: a Master's advertised interval is adopted up to this multiple of ours (0: any).
    public var maxIntervalFactor: Int = 10
    /// Unicast mode: require TTL / hop limit 255 as multicast mode does (peers on this link only).
    public var unicastTTLCheck = false
    /// Of the VIPs' family, like the peers.
    public var unicastSource: IPAddress?
    public var unicastPeers: [IPAddress]
    public var checksum: ChecksumMode
    public var authPassword: String?
    public var garp: GARPConfig
    public var track: TrackConfig
    public var notify: [String]

    public var isUnicast: Bool { !unicastPeers.isEmpty }
    /// One family per instance (RFC 5798 §5.2.9; keepalived likewise): the VIPs', checked at parse.
    public var family: AddressFamily { vips.first?.address.family ?? .ipv4 }
}

/// A bad configuration: where (file, line:column, field path) and what to do.
extension DaemonConfig {
    /// The https checks, as paths into the file: they need libssl on the node, which the daemon
    /// checks when it loads the file (parsing stays pure: deploy parses on the operator's machine).
    public var httpsChecks: [(path: String, url: String)] {
        instances.enumerated().flatMap { i, instance in
            instance.track.http.enumerated().compactMap { j, check in
                check.tls ? (path: "instances[\(i)].track.http[\(j)].url", url: check.url) : nil
            }
        }
    }
}

public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var location: SourceLocation?
    public var path: String
    public var message: String

    public init(file: String, location: SourceLocation?, path: String, message: String) {
        self.file = file
        self.location = location
        self.path = path
        self.message = message
    }

    public var description: String {
        var s = file
        if let location { s += ":\(location)" }
        s += ": "
        if !path.isEmpty { s += "\(path): " }
        return s + message
    }
}

extension DaemonConfig {
    /// Parses and validates configuration text. `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> DaemonConfig {
        let root: YAMLNode
        do {
            root = try YAMLSubset.parse(text)
        } catch {
            throw ConfigError(file: file, location: error.location, path: "", message: error.message)
        }
        var decoder = ConfigDecoder(file: file)
        return try decoder.daemon(root)
    }
}

struct ConfigDecoder {
    let file: String

    func fail(_ node: YAMLNode, _ path: String, _ message: String) -> ConfigError {
        ConfigError(file: file, location: node.location, path: path, message: message)
    }

    /// A mapping's fields; `finish()` rejects keys nobody asked for.
    struct Fields {
        let decoder: ConfigDecoder
        let node: YAMLNode
        let path: String
        var entries: [String: (SourceLocation, YAMLNode)] = [:]
        var order: [String] = []
        var used = Set<String>()

        init(_ decoder: ConfigDecoder, _ node: YAMLNode, path: String) throws(ConfigError) {
            self.decoder = decoder
            self.node = node
            self.path = path
            guard case .mapping(let list) = node.value else {
                throw decoder.fail(node, path.isEmpty ? "(top level)" : path, "expected a mapping of keys")
            }
            for e in list {
                entries[e.key] = (e.keyLocation, e.value)
                order.append(e.key)
            }
        }

        func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        mutating func optional(_ key: String) -> YAMLNode? {
            used.insert(key)
            guard let (_, v) = entries[key] else { return nil }
            if case .null = v.value { return nil }
            return v
        }

        mutating func required(_ key: String) throws(ConfigError) -> YAMLNode {
            guard let v = optional(key) else {
                throw decoder.fail(node, sub(key), "is required")
            }
            return v
        }

        func finish(allowed: [String]) throws(ConfigError) {
            for key in order where !used.contains(key) {
                let (location, _) = entries[key]!
                throw ConfigError(file: decoder.file, location: location, path: sub(key),
                                  message: "unknown key; allowed here: \(allowed.joined(separator: ", "))")
            }
        }
    }

    func scalar(_ node: YAMLNode, _ path: String) throws(ConfigError) -> String {
        guard case .scalar(let s, _) = node.value else { throw fail(node, path, "expected a single value") }
        return s
    }

    func string(_ node: YAMLNode, _ path: String) throws(ConfigError) -> String {
        let s = try scalar(node, path)
        if s.isEmpty { throw fail(node, path, "must not be empty") }
        return s
    }

    func integer(_ node: YAMLNode, _ path: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let s = try scalar(node, path)
        guard let v = Int(s) else { throw fail(node, path, "expected an integer, got '\(s)'") }
        guard range.contains(v) else {
            throw fail(node, path, "\(v) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func bool(_ node: YAMLNode, _ path: String) throws(ConfigError) -> Bool {
        switch try scalar(node, path) {
        case "true": return true
        case "false": return false
        case let s: throw fail(node, path, "expected true or false, got '\(s)'")
        }
    }

    func duration(_ node: YAMLNode, _ path: String) throws(ConfigError) -> Duration {
        let s = try scalar(node, path)
        guard let d = Duration(inventoryText: s) else {
            throw fail(node, path, "expected a duration like 1s, 100ms or 2m, got '\(s)'")
        }
        return d
    }

    func list(_ node: YAMLNode, _ path: String) throws(ConfigError) -> [YAMLNode] {
        guard case .sequence(let items) = node.value else { throw fail(node, path, "expected a list") }
        return items
    }

    /// A unicast address of `family` (the instance's, from its VIPs).
    func unicastAddress(_ node: YAMLNode, _ path: String, family: AddressFamily) throws(ConfigError) -> IPAddress {
        let s = try scalar(node, path)
        guard let a = IPAddress(s) else {
            throw fail(node, path, "expected an \(family) address, got '\(s)'")
        }
        guard a.family == family else {
            throw fail(node, path, "\(a) is \(a.family) but the instance's VIPs are \(family); use addresses of one family per instance")
        }
        if a.isMulticast || a.isUnspecified { throw fail(node, path, "must be a unicast address") }
        return a
    }

    mutating func daemon(_ root: YAMLNode) throws(ConfigError) -> DaemonConfig {
        var f = try Fields(self, root, path: "")
        var statusSocket = DaemonConfig.defaultStatusSocket
        if let n = f.optional("status_socket") {
            statusSocket = try string(n, "status_socket")
            guard statusSocket.hasPrefix("/"), statusSocket.utf8.count < 108 else {
                throw fail(n, "status_socket", "must be an absolute path shorter than 108 bytes")
            }
        }
        var prometheus: SocketAddress4?
        if let n = f.optional("prometheus") {
            let s = try string(n, "prometheus")
            guard let a = SocketAddress4(s) else {
                throw fail(n, "prometheus", "expected address:port like 127.0.0.1:9650, got '\(s)'")
            }
            prometheus = a
        }
        var realtime = DaemonConfig.defaultRealtimePriority
        if let n = f.optional("realtime_priority") { realtime = try integer(n, "realtime_priority", 0...99) }
        let instancesNode = try f.required("instances")
        let items = try list(instancesNode, "instances")
        if items.isEmpty { throw fail(instancesNode, "instances", "needs at least one instance") }
        var instances: [InstanceConfig] = []
        for (i, item) in items.enumerated() {
            let path = "instances[\(i)]"
            let instance = try self.instance(item, path)
            if let other = instances.first(where: { $0.name == instance.name }) {
                throw fail(item, "\(path).name", "duplicate instance name '\(other.name)'")
            }
            if let other = instances.first(where: { $0.interface == instance.interface && $0.vrid == instance.vrid }) {
                throw fail(item, "\(path).vrid", "VRID \(instance.vrid) on \(instance.interface) is already used by instance '\(other.name)'")
            }
            for vip in instance.vips {
                if let other = instances.first(where: { $0.vips.contains(where: { $0.address == vip.address }) }) {
                    throw fail(item, "\(path).vips", "\(vip.address) is already a VIP of instance '\(other.name)'")
                }
            }
            instances.append(instance)
        }
        try f.finish(allowed: ["status_socket", "prometheus", "realtime_priority", "instances"])
        return DaemonConfig(statusSocket: statusSocket, prometheus: prometheus, realtimePriority: realtime,
                            instances: instances)
    }

    static let instanceKeys = ["name", "interface", "vrid", "version", "priority", "advert_interval",
                               "vips", "preempt", "preempt_delay", "unicast_src", "unicast_peers",
                               "checksum", "auth_password", "garp", "track", "notify", "max_interval_factor", "unicast_ttl_check"]

    mutating func instance(_ node: YAMLNode, _ path: String) throws(ConfigError) -> InstanceConfig {
        var f = try Fields(self, node, path: path)
        let nameNode = try f.required("name")
        let name = try string(nameNode, f.sub("name"))
        guard name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw fail(nameNode, f.sub("name"), "use up to 64 letters, digits, '-', '_' or '.'")
        }
        let ifNode = try f.required("interface")
        let interface = try string(ifNode, f.sub("interface"))
        guard VRRPLimits.isInterfaceName(interface) else {
            throw fail(ifNode, f.sub("interface"), "'\(interface)' is not a valid interface name")
        }
        let vrid = UInt8(try integer(try f.required("vrid"), f.sub("vrid"), 1...255))
        var version = VRRPVersion.v3
        if let n = f.optional("version") {
            version = try integer(n, f.sub("version"), 2...3) == 2 ? .v2 : .v3
        }
        var priority: UInt8 = 100
        if let n = f.optional("priority") { priority = UInt8(try integer(n, f.sub("priority"), 1...255)) }

        var advert = Duration.seconds(1)
        if let n = f.optional("advert_interval") {
            advert = try duration(n, f.sub("advert_interval"))
            let ms = advert.totalMilliseconds
            switch version {
            case .v2:
                guard ms % 1000 == 0, (1...255).contains(ms / 1000) else {
                    throw fail(n, f.sub("advert_interval"), "VRRPv2 adverts are whole seconds from 1s to 255s; use version: 3 for shorter intervals")
                }
            case .v3:
                guard ms % 10 == 0, (10...40950).contains(ms) else {
                    throw fail(n, f.sub("advert_interval"), "VRRPv3 adverts are multiples of 10ms from 10ms to 40950ms")
                }
            }
        }

        let vipsNode = try f.required("vips")
        var vips: [VirtualAddress] = []
        for (i, v) in try list(vipsNode, f.sub("vips")).enumerated() {
            let vp = f.sub("vips[\(i)]")
            let vip = try virtualAddress(v, vp)
            if let first = vips.first, first.address.family != vip.address.family {
                throw fail(v, vp, "\(vip.address) is \(vip.address.family) but vips[0] is \(first.address.family); one instance carries one address family (RFC 5798), so put the \(vip.address.family) VIPs in an instance of their own")
            }
            if vips.contains(where: { $0.address == vip.address }) { throw fail(v, vp, "\(vip.address) is listed twice") }
            vips.append(vip)
        }
        if vips.isEmpty { throw fail(vipsNode, f.sub("vips"), "needs at least one address") }
        if vips.count > 255 { throw fail(vipsNode, f.sub("vips"), "at most 255 addresses") }
        let family = vips[0].address.family
        if family == .ipv6, version == .v2 {
            throw fail(f.optional("version") ?? vipsNode, f.sub("version"), "IPv6 VIPs need version 3 (VRRPv2 is IPv4 only)")
        }

        var preempt = true
        if let n = f.optional("preempt") { preempt = try bool(n, f.sub("preempt")) }
        var preemptDelay = Duration.zero
        if let n = f.optional("preempt_delay") {
            preemptDelay = try duration(n, f.sub("preempt_delay"))
            guard preemptDelay <= .seconds(1000) else { throw fail(n, f.sub("preempt_delay"), "at most 1000s") }
        }

        var maxIntervalFactor = 10
        if let n = f.optional("max_interval_factor") {
            maxIntervalFactor = try integer(n, f.sub("max_interval_factor"), 0...1000)
            guard version == .v3 else {
                throw fail(n, f.sub("max_interval_factor"), "only applies to version 3 (VRRPv2 routers must share one interval)")
            }
        }

        var unicastSource: IPAddress?
        if let n = f.optional("unicast_src") { unicastSource = try unicastAddress(n, f.sub("unicast_src"), family: family) }
        var peers: [IPAddress] = []
        if let n = f.optional("unicast_peers") {
            for (i, p) in try list(n, f.sub("unicast_peers")).enumerated() {
                let a = try unicastAddress(p, f.sub("unicast_peers[\(i)]"), family: family)
                if a == unicastSource { throw fail(p, f.sub("unicast_peers[\(i)]"), "is unicast_src itself") }
                if peers.contains(a) { throw fail(p, f.sub("unicast_peers[\(i)]"), "\(a) is listed twice") }
                peers.append(a)
            }
        }
        var unicastTTLCheck = false
        if let n = f.optional("unicast_ttl_check") {
            unicastTTLCheck = try bool(n, f.sub("unicast_ttl_check"))
            guard !peers.isEmpty else { throw fail(n, f.sub("unicast_ttl_check"), "has no effect without unicast_peers") }
        }
        if unicastSource != nil, peers.isEmpty, let n = f.optional("unicast_src") {
            throw fail(n, f.sub("unicast_src"), "has no effect without unicast_peers")
        }

        var checksum = ChecksumMode.pseudoHeader
        if let n = f.optional("checksum") {
            let s = try string(n, f.sub("checksum"))
            guard let c = ChecksumMode(rawValue: s) else {
                throw fail(n, f.sub("checksum"), "expected pseudo-header or message-only, got '\(s)'")
            }
            guard version == .v3 else {
                throw fail(n, f.sub("checksum"), "only applies to version 3 (VRRPv2 always checksums the message)")
            }
            guard family == .ipv4 else {
                throw fail(n, f.sub("checksum"), "only applies to IPv4 (VRRPv3 over IPv6 always checksums the pseudo-header, RFC 5798 §5.2.8)")
            }
            checksum = c
        }
        var auth: String?
        if let n = f.optional("auth_password") {
            let s = try string(n, f.sub("auth_password"))
            guard version == .v2 else { throw fail(n, f.sub("auth_password"), "only VRRPv2 has authentication (RFC 5798 removed it)") }
            guard s.utf8.count <= 8 else { throw fail(n, f.sub("auth_password"), "at most 8 bytes (VRRPv2 simple text authentication)") }
            auth = s
        }

        var garp = GARPConfig()
        if let n = f.optional("garp") { garp = try self.garp(n, f.sub("garp")) }
        var track = TrackConfig()
        if let n = f.optional("track") { track = try self.track(n, f.sub("track")) }
        var notify: [String] = []
        if let n = f.optional("notify") {
            for (i, c) in try list(n, f.sub("notify")).enumerated() {
                notify.append(try string(c, f.sub("notify[\(i)]")))
            }
        }
        try f.finish(allowed: Self.instanceKeys)
        var config = InstanceConfig(name: name, interface: interface, vrid: vrid, version: version, priority: priority,
                                    advertInterval: advert, vips: vips, preempt: preempt, preemptDelay: preemptDelay,
                                    unicastSource: unicastSource, unicastPeers: peers, checksum: checksum,
                                    authPassword: auth, garp: garp, track: track, notify: notify)
        config.maxIntervalFactor = maxIntervalFactor
        config.unicastTTLCheck = unicastTTLCheck
        return config
    }

    /// `address[/prefix]` of either family; without a prefix, a host address (/32 or /128).
    func virtualAddress(_ node: YAMLNode, _ path: String) throws(ConfigError) -> VirtualAddress {
        let s = try string(node, path)
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let a = IPAddress(String(parts[0])) else {
            throw fail(node, path, "expected an IPv4 or IPv6 address with optional /prefix, got '\(s)'")
        }
        let maxPrefix = a.family.addressLength * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let p = Int(parts[1]), (1...maxPrefix).contains(p) else {
                throw fail(node, path, "prefix length must be 1...\(maxPrefix), got '\(parts[1])'")
            }
            prefix = p
        }
        guard !a.isMulticast, !a.isUnspecified, !a.isLoopback else {
            throw fail(node, path, "\(a) cannot be a virtual address")
        }
        return VirtualAddress(address: a, prefixLength: prefix)
    }

    func garp(_ node: YAMLNode, _ path: String) throws(ConfigError) -> GARPConfig {
        var f = try Fields(self, node, path: path)
        var g = GARPConfig()
        if let n = f.optional("repeat") { g.repeatCount = try integer(n, f.sub("repeat"), VRRPLimits.garpRepeat) }
        if let n = f.optional("interval") { g.interval = try duration(n, f.sub("interval")) }
        if let n = f.optional("delay") { g.delay = try duration(n, f.sub("delay")) }
        if let n = f.optional("refresh") { g.refresh = try duration(n, f.sub("refresh")) }
        if g.interval > .seconds(10) { throw fail(node, f.sub("interval"), "at most 10s") }
        try f.finish(allowed: ["repeat", "interval", "delay", "refresh"])
        return g
    }

    func timing(_ f: inout Fields) throws(ConfigError) -> CheckTiming {
        var t = CheckTiming()
        if let n = f.optional("interval") {
            t.interval = try duration(n, f.sub("interval"))
            if t.interval < .milliseconds(VRRPLimits.checkMinimumMilliseconds) { throw fail(n, f.sub("interval"), "at least 10ms") }
            t.timeout = t.interval
        }
        if let n = f.optional("timeout") {
            t.timeout = try duration(n, f.sub("timeout"))
            if t.timeout < .milliseconds(VRRPLimits.checkMinimumMilliseconds) { throw fail(n, f.sub("timeout"), "at least 10ms") }
        }
        if let n = f.optional("rise") { t.rise = try integer(n, f.sub("rise"), VRRPLimits.checkRiseFall) }
        if let n = f.optional("fall") { t.fall = try integer(n, f.sub("fall"), VRRPLimits.checkRiseFall) }
        if let n = f.optional("weight") { t.weight = try integer(n, f.sub("weight"), VRRPLimits.checkWeight) }
        return t
    }

    static let timingKeys = ["interval", "timeout", "rise", "fall", "weight"]

    func track(_ node: YAMLNode, _ path: String) throws(ConfigError) -> TrackConfig {
        var f = try Fields(self, node, path: path)
        var t = TrackConfig()
        if let n = f.optional("interfaces") {
            for (i, v) in try list(n, f.sub("interfaces")).enumerated() {
                let name = try string(v, f.sub("interfaces[\(i)]"))
                guard VRRPLimits.isInterfaceName(name) else {
                    throw fail(v, f.sub("interfaces[\(i)]"), "'\(name)' is not a valid interface name")
                }
                t.interfaces.append(name)
            }
        }
        if let n = f.optional("scripts") {
            for (i, v) in try list(n, f.sub("scripts")).enumerated() {
                var sf = try Fields(self, v, path: f.sub("scripts[\(i)]"))
                let name = try string(try sf.required("name"), sf.sub("name"))
                let command = try string(try sf.required("command"), sf.sub("command"))
                let timing = try self.timing(&sf)
                try sf.finish(allowed: ["name", "command"] + Self.timingKeys)
                t.scripts.append(ScriptCheck(name: name, command: command, timing: timing))
            }
        }
        if let n = f.optional("http") {
            for (i, v) in try list(n, f.sub("http")).enumerated() {
                var hf = try Fields(self, v, path: f.sub("http[\(i)]"))
                let urlNode = try hf.required("url")
                let url = try string(urlNode, hf.sub("url"))
                guard let parsed = parseURL(url) else {
                    throw fail(urlNode, hf.sub("url"), "expected http(s)://IPv4[:port]/path (an address, not a DNS name), got '\(url)'")
                }
                var expect = 200
                if let e = hf.optional("expect") { expect = try integer(e, hf.sub("expect"), 100...599) }
                let timing = try self.timing(&hf)
                try hf.finish(allowed: ["url", "expect"] + Self.timingKeys)
                t.http.append(HTTPCheck(url: url, tls: parsed.tls, target: parsed.target, host: parsed.host,
                                        path: parsed.path, expectStatus: expect, timing: timing))
            }
        }
        if let n = f.optional("tcp") {
            for (i, v) in try list(n, f.sub("tcp")).enumerated() {
                var tf = try Fields(self, v, path: f.sub("tcp[\(i)]"))
                let aNode = try tf.required("address")
                let s = try string(aNode, tf.sub("address"))
                guard let target = SocketAddress4(s) else {
                    throw fail(aNode, tf.sub("address"), "expected IPv4:port like 127.0.0.1:8443, got '\(s)'")
                }
                let timing = try self.timing(&tf)
                try tf.finish(allowed: ["address"] + Self.timingKeys)
                t.tcp.append(TCPCheck(target: target, timing: timing))
            }
        }
        try f.finish(allowed: ["interfaces", "scripts", "http", "tcp"])
        return t
    }
}

struct ParsedURL {
    var tls: Bool
    var target: SocketAddress4
    var host: String
    var path: String
}

/// The shared rule (`VRRPLimits.checkURL`), with the socket address the check connects to.
func parseURL(_ url: String) -> ParsedURL? {
    guard let u = VRRPLimits.checkURL(url) else { return nil }
    return ParsedURL(tls: u.tls, target: SocketAddress4(address: u.address, port: u.port), host: u.host, path: u.path)
}
