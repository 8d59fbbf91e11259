import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup status [INVENTORY]`: the cluster as it is now; changes nothing.
    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the VIP holder, VRRP states, etcd health, HAProxy backends, services, certificates and versions.",
            discussion: """
            Reads every host over SSH (one probe each, in parallel) and asks one etcd member for the member list and each member's health over TLS. Changes nothing. Exits 1 when something needs attention (a host unreachable, a service not active, no or several VIP holders, an etcd member unhealthy, a backend down, a certificate expired or expiring within 30 days).

            Examples:
              clusterup status
              clusterup status lab.yml --output json | jq .etcd
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (loaded, hosts) = try inventory.loadSelection()
            let sessions = HostSessions(connector: try ssh.connector(for: loaded), concurrency: fanOut.concurrency)
            let now = Date()
            let status = await StatusCollector.collect(inventory: loaded, hosts: hosts, settings: loaded.deploy, sessions: sessions, now: { now })
            print(output.isJSON ? StatusReport.json(status, now: now).pretty : StatusReport.text(status, now: now), terminator: output.isJSON ? "\n" : "")
            if !status.problems.isEmpty { throw ExitCode(1) }
        }
    }
}

enum StatusReport {
    static func text(_ status: ClusterStatus, now: Date) -> String {
        var out = ""
        if let vip = status.vip {
            let holders = status.vipHolders
            out += "VIP \(vip): " + (holders.isEmpty ? "NOT HELD" : "held by \(holders.joined(separator: ", "))") + "\n\n"
        }
        let lbHosts = status.hosts.filter { $0.roles.contains("lb") && $0.error == nil }
        if !lbHosts.isEmpty {
            var rows: [[String]] = []
            for host in lbHosts {
                let vrrp = host.vrrp.isEmpty ? (host.holdsVIP == true ? "holds VIP" : "-")
                    : host.vrrp.map { "\($0.name) vrid \($0.vrid) \($0.state) prio \($0.effectivePriority ?? $0.priority)" }.joined(separator: "; ")
                let backends = host.haproxyBackends.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                rows.append([host.name, vrrp, backends.isEmpty ? "-" : backends])
            }
            out += TextTable.render(header: ["LB HOST", "VRRP", "HAPROXY BACKENDS"], rows: rows) + "\n"
        }
        if let etcd = status.etcd {
            if let error = etcd.error {
                out += "etcd: \(error)\n\n"
            } else {
                let health = Dictionary(etcd.health.map { ($0.endpoint, $0) }, uniquingKeysWith: { a, _ in a })
                let snapshotAges = Dictionary(status.hosts.map { ($0.name, $0.newestSnapshotAge) }, uniquingKeysWith: { a, _ in a })
                let rows = etcd.members.sorted { $0.name < $1.name }.map { member -> [String] in
                    let endpoint = member.clientURLs.first ?? ""
                    let state = member.name.isEmpty ? "not started" : health[endpoint].map { $0.healthy ? "healthy" : "UNHEALTHY \($0.error ?? "")" } ?? "unknown"
                    let own = etcd.endpoint(of: member)
                    let alarms = etcd.alarms.filter { $0.member == member.name }.map(\.alarm)
                    let age = (snapshotAges[member.name] ?? nil).map { AgeText.describe($0) } ?? "none"
                    return [member.name.isEmpty ? "(unstarted)" : member.name, member.hexID, member.peerURLs.joined(separator: ","), state,
                            own.map { "\(ByteCount($0.dbSize))" } ?? "-", own.map { "\(ByteCount($0.dbSizeInUse))" } ?? "-",
                            own.map { $0.isLeader ? "leader" : "follower" } ?? "-", etcd.lag(of: member).map(String.init) ?? "-",
                            alarms.isEmpty ? "none" : alarms.joined(separator: ","), age]
                }
                out += "etcd (asked \(etcd.queriedOn ?? "-")): \(etcd.members.count) member(s)\n"
                out += TextTable.render(header: ["MEMBER", "ID", "PEER URL", "HEALTH", "DB SIZE", "IN USE", "ROLE", "LAG", "ALARMS", "NEWEST SNAPSHOT"], rows: rows) + "\n"
            }
        }
        var rows: [[String]] = []
        for host in status.hosts {
            if let error = host.error {
                rows.append([host.name, host.roles.joined(separator: ","), "UNREACHABLE: \(error)", ""])
                continue
            }
            let units = host.units.sorted { $0.key < $1.key }
                .map { "\($0.key.replacingOccurrences(of: ".service", with: "")) \($0.value.active)" }.joined(separator: ", ")
            rows.append([host.name, host.roles.joined(separator: ","), units, certificateSummary(host, now: now)])
        }
        out += TextTable.render(header: ["HOST", "ROLES", "SERVICES", "CERTIFICATES"], rows: rows) + "\n"
        out += TextTable.render(header: ["COMPONENT", "VERSION", "HOSTS"], rows: versionRows(status.hosts))
        let mixed = mixedVersions(status.hosts)
        if !mixed.isEmpty {
            out += "\nmixed versions (an upgrade in progress or interrupted: `clusterup upgrade plan` shows what is left):\n"
                + mixed.map { "  \($0)\n" }.joined()
        }
        out += "\n" + TextTable.render(header: ["HOST", "LAST CHANGED BY"], rows: lastDeployRows(status.hosts))
        let problems = status.problems
        out += problems.isEmpty ? "\nstatus: healthy\n" : "\n\(problems.count) problem(s):\n" + problems.map { "  \($0)\n" }.joined()
        return out
    }

    static func certificateSummary(_ host: HostStatus, now: Date) -> String {
        guard !host.certificates.isEmpty else { return "none installed" }
        let bad = host.certificates.filter { $0.status != .ok }
        let soonest = host.certificates.compactMap { cert in cert.daysLeft(now: now).map { (cert, $0) } }.min { $0.1 < $1.1 }
        var text = "\(host.certificates.count) cert(s)"
        if let soonest { text += ", first expiry in \(soonest.1) d (\(soonest.0.path.split(separator: "/").suffix(2).joined(separator: "/")))" }
        if !bad.isEmpty { text += ", \(bad.count) NOT OK" }
        return text
    }

    /// One row per component and version: a host running a different version stands out.
    static func versionRows(_ hosts: [HostStatus]) -> [[String]] {
        var byComponent: [String: [String: [String]]] = [:]
        for host in hosts {
            for (component, line) in host.versions { byComponent[component, default: [:]][shortVersion(line), default: []].append(host.name) }
        }
        return byComponent.keys.sorted().flatMap { component in
            byComponent[component]!.sorted { $0.key < $1.key }.map { [component, $0.key, $0.value.joined(separator: ",")] }
        }
    }

    /// Components whose hosts run more than one release (compared as `upgrade plan` compares
    /// them: a Debian revision is not another release), one line each: `kube-apiserver: v1.31.2
    /// on node3; v1.32.0 on node1, node2`.
    static func mixedVersions(_ hosts: [HostStatus]) -> [String] {
        var byComponent: [String: [String: [String]]] = [:]
        for host in hosts {
            for (component, line) in host.versions {
                let release = ComponentVersion(parsing: line).map { "\($0.major).\($0.minor).\($0.patch)" } ?? line
                byComponent[component, default: [:]][release, default: []].append(host.name)
            }
        }
        return byComponent.keys.sorted().compactMap { component in
            let releases = byComponent[component]!
            guard releases.count > 1 else { return nil }
            let shown = releases.sorted { $0.key < $1.key }.map { release, names in
                let text = hosts.first { names.contains($0.name) }.flatMap { $0.versions[component] }.map(shortVersion) ?? release
                return "\(text) on \(names.joined(separator: ", "))"
            }
            return "\(component): " + shown.joined(separator: "; ")
        }
    }

    /// Which clusterup last changed each reachable host, from the record deploy leaves there.
    static func lastDeployRows(_ hosts: [HostStatus]) -> [[String]] {
        hosts.filter { $0.error == nil }.map { [$0.name, $0.lastDeploy?.summary ?? "none recorded"] }
    }

    /// `etcd Version: 3.4.23` → `3.4.23`; keeps the line when it has no version-like word.
    static func shortVersion(_ line: String) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
        return words.first { word in word.first.map { $0.isNumber || $0 == "v" } == true && word.contains(".") }.map(String.init) ?? line
    }

    static func json(_ status: ClusterStatus, now: Date) -> JSONValue {
        let hosts: [JSONValue] = status.hosts.map { host in
            var fields: [(String, JSONValue)] = [("name", .string(host.name)), ("roles", .strings(host.roles))]
            if let error = host.error {
                fields.append(("error", .string(error)))
                return .object(fields)
            }
            if let holds = host.holdsVIP { fields.append(("holds_vip", .bool(holds))) }
            if !host.vrrp.isEmpty {
                fields.append(("vrrp", .array(host.vrrp.map { i in
                    .object([("instance", .string(i.name)), ("vrid", .int(Int64(i.vrid))), ("state", .string(i.state)),
                             ("priority", .int(Int64(i.priority))), ("effective_priority", .optional(i.effectivePriority)),
                             ("master_address", .optional(i.masterAddress)), ("vips_installed", .strings(i.vipsInstalled))])
                })))
            }
            if !host.haproxyBackends.isEmpty {
                fields.append(("haproxy_backends", .object(host.haproxyBackends.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
            }
            fields.append(("services", .object(host.units.sorted { $0.key < $1.key }.map {
                ($0.key, .object([("active", .string($0.value.active)), ("enabled", .string($0.value.enabled))]))
            })))
            fields.append(("certificates", .array(host.certificates.map { $0.json(now: now) })))
            fields.append(("versions", .object(host.versions.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
            fields.append(("last_deploy", host.lastDeploy.map { record in
                .object([("version", .string(record.build.version)), ("commit", .optional(record.build.commit)),
                         ("built", .optional(record.build.date)), ("deployed_at", .string(record.deployedAt)),
                         ("deployed_by", .string(record.deployedBy))])
            } ?? .null))
            return .object(fields)
        }
        var fields: [(String, JSONValue)] = [("healthy", .bool(status.problems.isEmpty))]
        if let vip = status.vip { fields.append(("vip", .object([("address", .string(vip)), ("holders", .strings(status.vipHolders))]))) }
        if let etcd = status.etcd {
            fields.append(("etcd", .object([
                ("queried_on", .optional(etcd.queriedOn)), ("error", .optional(etcd.error)),
                ("members", .array(etcd.members.map { m in
                    .object([("name", .string(m.name)), ("id", .string(m.hexID)), ("peer_urls", .strings(m.peerURLs)),
                             ("client_urls", .strings(m.clientURLs))])
                })),
                ("health", .array(etcd.health.map { h in
                    .object([("endpoint", .string(h.endpoint)), ("healthy", .bool(h.healthy)), ("took", .optional(h.took)), ("error", .optional(h.error))])
                })),
                ("endpoints", .array(etcd.members.compactMap { m in
                    etcd.endpoint(of: m).map { e in
                        .object([("name", .string(m.name)), ("db_size", .int(e.dbSize)), ("db_size_in_use", .int(e.dbSizeInUse)),
                                 ("leader", .bool(e.isLeader)), ("raft_index", .int(Int64(e.raftIndex))),
                                 ("raft_applied_index", .int(Int64(e.raftAppliedIndex))), ("lag", etcd.lag(of: m).map { .int(Int64($0)) } ?? .null)])
                    }
                })),
                ("alarms", .array(etcd.alarms.map { .object([("member", .string($0.member)), ("alarm", .string($0.alarm))]) })),
                ("newest_snapshot_age_seconds", .object(status.hosts.filter { $0.roles.contains("etcd") }.map { h in
                    (h.name, h.newestSnapshotAge.map { .double($0) } ?? .null)
                })),
            ])))
        }
        fields.append(("hosts", .array(hosts)))
        fields.append(("mixed_versions", .strings(mixedVersions(status.hosts))))
        fields.append(("problems", .strings(status.problems)))
        return .object(fields)
    }
}
