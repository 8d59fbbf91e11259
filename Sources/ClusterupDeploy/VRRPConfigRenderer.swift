import ClusterupCore
import VRRPConfig

/// Turns the inventory's `vrrp` and `vip` sections into one lb host's VRRP configuration: the
/// clusterup-vrrpd YAML or the equivalent keepalived.conf, from one context so both backends get
/// the same election, timing and health tracking.
enum VRRPConfigRenderer {
    static func render(
        for host: InventoryHost, inventory: Inventory, vrrp: VRRPSettings, vip: VIPSettings, templates: TemplateSet
    ) throws -> String {
        let context = try self.context(for: host, inventory: inventory, vrrp: vrrp, vip: vip)
        let text = try templates.render(vrrp.backend == .keepalived ? "keepalived.conf" : "clusterup-vrrpd.yaml", context)
        if vrrp.backend == .clusterupVRRPD {
            // The daemon's own validator, before anything is uploaded: a custom template or an
            // inventory value the daemon cannot take fails here, naming the host.
            do {
                _ = try DaemonConfig.parse(text, file: "\(host.name):/etc/clusterup/vrrpd.yaml")
            } catch {
                throw ClusterupError.badInput(
                    "the clusterup-vrrpd configuration rendered for \(host.name) is invalid: \(error)",
                    at: "\(inventory.path): vrrp", hint: "check the vrrp section (or your clusterup-vrrpd.yaml template)")
            }
        }
        return text
    }

    static func context(
        for host: InventoryHost, inventory: Inventory, vrrp: VRRPSettings, vip: VIPSettings
    ) throws -> [String: Any] {
        guard let priority = inventory.vrrpPriorities[host.name] else {
            throw ClusterupError.badInput("\(host.name) has no VRRP priority", at: "\(inventory.path): vrrp.priorities")
        }
        guard let interface = vrrp.interface else {
            throw ClusterupError.badInput("vrrp.interface is required when there are lb hosts", at: "\(inventory.path): vrrp.interface")
        }
        let peers = vrrp.unicast
            ? inventory.hosts(withRole: .lb).filter { $0.name != host.name }.map(\.privateAddress) : []
        let name = "\(inventory.cluster)-vip"

        // Built-in checks: clusterup-vrrpd runs them itself; keepalived gets equivalent scripts.
        let track = vrrp.track
        func timing(_ base: [String: Any]) -> [String: Any] {
            base.merging([
                "interval_text": text(track.interval), "timeout_text": text(track.timeout),
                "interval": seconds(track.interval), "timeout": seconds(track.timeout),
                "rise": track.rise, "fall": track.fall, "weight": track.weight,
            ]) { a, _ in a }
        }
        let http = track.http.map { [timing(["url": $0])] } ?? []
        let tcp = track.tcp.map { [timing(["address": $0])] } ?? []
        var scripts: [[String: Any]] = track.scripts.map { script in
            [
                "name": script.name, "command": script.command, "command_yaml": yamlQuoted(script.command),
                "interval_text": text(script.interval), "timeout_text": text(script.timeout),
                "interval": seconds(script.interval), "timeout": seconds(script.timeout),
                "rise": script.rise, "fall": script.fall, "weight": script.weight,
            ]
        }
        var keepalivedScripts = scripts
        if let url = track.http {
            keepalivedScripts.append(timing(["name": "clusterup_http", "command": "/usr/bin/curl -fsk --max-time \(seconds(track.timeout)) \(url)"]))
        }
        if let address = track.tcp, let colon = address.lastIndex(of: ":") {
            let hostPart = address[..<colon], port = address[address.index(after: colon)...]
            keepalivedScripts.append(timing(["name": "clusterup_tcp", "command": "/bin/bash -c 'exec 3<>/dev/tcp/\(hostPart)/\(port)'"]))
        }
        if vrrp.backend == .keepalived {
            // keepalived's `script "…"` has no escape for a double quote.
            if let index = track.scripts.firstIndex(where: { $0.command.unicodeScalars.contains("\"") }) {
                throw ClusterupError.badInput(
                    "vrrp.track.scripts[\(index)].command holds a double quote, which keepalived's script \"...\" cannot carry",
                    at: "\(inventory.path): vrrp.track.scripts[\(index)].command",
                    hint: "use single quotes in the command, or put it in a script file on the node")
            }
            scripts = keepalivedScripts
        }

        let instance: [String: Any] = [
            "name": name, "interface": interface, "vrid": vrrp.vrid, "version": vrrp.version, "priority": priority,
            "advert_interval": text(vrrp.advertInterval), "advert_int": seconds(vrrp.advertInterval),
            "preempt": vrrp.preempt,
            "preempt_delay": vrrp.preemptDelay == .zero ? false : (vrrp.backend == .keepalived ? seconds(vrrp.preemptDelay) : text(vrrp.preemptDelay)) as Any,
            "checksum": vrrp.version == 3 ? vrrp.checksum.rawValue : false as Any,
            "auth_password": vrrp.authPassword ?? false as Any,
            "auth_password_yaml": vrrp.authPassword.map(yamlQuoted) ?? false as Any,
            "vips": [["address": vip.address, "prefix": vip.prefix]],
            "unicast_src": vrrp.unicast ? host.privateAddress : false as Any,
            "unicast_ttl_check": vrrp.unicast && !peers.isEmpty && vrrp.unicastTTLCheck,
            "unicast_peers": peers, "has_unicast_peers": !peers.isEmpty,
            "garp_repeat": vrrp.garp.repeatCount,
            "garp_interval_text": text(.zero), "garp_interval": 0,
            "garp_delay_text": text(vrrp.garp.delay), "garp_delay": seconds(vrrp.garp.delay),
            "garp_refresh_text": text(vrrp.garp.refresh), "garp_refresh": seconds(vrrp.garp.refresh),
            "has_track": !track.isEmpty,
            "track_interfaces": track.interfaces, "has_track_interfaces": !track.interfaces.isEmpty,
            "scripts": scripts, "has_scripts": !scripts.isEmpty,
            "track_scripts": scripts.compactMap { $0["name"] }, "has_track_scripts": !scripts.isEmpty,
            "http": vrrp.backend == .keepalived ? [] : http, "has_http": vrrp.backend != .keepalived && !http.isEmpty,
            "tcp": vrrp.backend == .keepalived ? [] : tcp, "has_tcp": vrrp.backend != .keepalived && !tcp.isEmpty,
        ]
        return [
            "host": host.name, "router_id": host.name, "version": vrrp.version,
            "checksum_as_v2": vrrp.version == 3 && vrrp.checksum == .messageOnly,
            "scripts": scripts, "instances": [instance],
            // clusterup-vrrpd takes 0 for normal scheduling; keepalived leaves the setting out.
            "realtime_priority": vrrp.realtimePriority,
            "max_interval_factor": vrrp.version == 3 ? String(vrrp.maxIntervalFactor) : false as Any,  // a string: 0 must render
            "rt_priority": vrrp.realtimePriority > 0 ? vrrp.realtimePriority : false as Any,
        ]
    }

    /// A YAML double-quoted scalar in printable ASCII: everything else is an escape, so neither a
    /// combining mark after a quote (one `Character`, not equal to the quote) nor a line break
    /// (folded inside quotes) can change what the daemon reads back.
    static func yamlQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case " "..."~": out.unicodeScalars.append(scalar)
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += scalar.value <= 0xFFFF
                    ? "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    : "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
            }
        }
        return out + "\""
    }

    /// "100ms", "1s": the daemon's duration syntax.
    static func text(_ duration: Duration) -> String {
        let ms = duration.totalMilliseconds
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }

    /// keepalived's unit: seconds, with decimals.
    static func seconds(_ duration: Duration) -> String {
        let ms = duration.totalMilliseconds
        if ms % 1000 == 0 { return "\(ms / 1000)" }
        let fraction = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
