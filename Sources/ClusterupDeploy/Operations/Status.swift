import ClusterupNodes
import ClusterupCore
import ClusterupSSH
import ClusterupPKI
import Foundation

/// `clusterup status`: what the cluster looks like now, read from every host by one probe script
/// each, plus etcd's own view from one member. Nothing is changed.
public struct ClusterStatus: Sendable {
    public var hosts: [HostStatus]
    public var etcd: EtcdStatus?
    public var vip: String?
    /// With --hosts, the VIP's holder may be among the hosts not looked at.
    public var everyLBHostProbed = true

    /// The lb hosts that hold the VIP now (exactly one is healthy).
    public var vipHolders: [String] { hosts.filter { $0.holdsVIP == true }.map(\.name) }

    /// Problems an operator must look at; empty when the cluster is healthy.
    public var problems: [String] {
        var problems: [String] = []
        for host in hosts {
            if let error = host.error { problems.append("\(host.name): unreachable: \(error)"); continue }
            for (unit, facts) in host.units.sorted(by: { $0.key < $1.key }) where !facts.isActive {
                problems.append("\(host.name): \(unit) is \(facts.active.isEmpty ? "unknown" : facts.active)")
            }
            for (server, state) in host.haproxyBackends.sorted(by: { $0.key < $1.key }) where state != "UP" {
                problems.append("\(host.name): HAProxy backend \(server) is \(state)")
            }
            for cert in host.certificates where cert.status != .ok {
                problems.append("\(host.name): \(cert.path) \(cert.statusText)")
            }
        }
        if let vip, everyLBHostProbed, hosts.contains(where: { $0.holdsVIP != nil }) {
            let holders = vipHolders
            if holders.count != 1 {
                problems.append(holders.isEmpty ? "no lb host holds the VIP \(vip)" : "\(holders.count) hosts hold the VIP \(vip): \(holders.joined(separator: ", "))")
            }
        }
        if let etcd {
            if let error = etcd.error { problems.append("etcd: \(error)") }
            for endpoint in etcd.health where !endpoint.healthy {
                problems.append("etcd: \(endpoint.endpoint) unhealthy\(endpoint.error.map { ": \($0)" } ?? "")")
            }
            for (member, alarm) in etcd.alarms {
                problems.append("etcd: \(alarm) alarm on \(member) (see `clusterup etcd alarms`)")
            }
            for member in etcd.members {
                if let lag = etcd.lag(of: member), lag > EtcdEndpointStatus.laggingAfter {
                    problems.append("etcd: \(member.name) is \(lag) raft entries behind the leader")
                }
            }
        }
        return problems
    }
}

public struct HostStatus: Sendable {
    public var name: String
    public var roles: [String]
    /// Set when the host could not be reached or probed; the other fields are then empty.
    public var error: String?
    public var holdsVIP: Bool?
    public var vrrp: [VRRPInstanceStatus] = []
    /// HAProxy's view of the kube-apiserver backends: server → UP, DOWN…
    public var haproxyBackends: [String: String] = [:]
    public var units: [String: HostObservedState.UnitFacts] = [:]
    public var certificates: [InstalledCertificate] = []
    /// Component → first line of its `--version`.
    public var versions: [String: String] = [:]
    /// Which clusterup last changed the host; nil when none recorded it.
    public var lastDeploy: DeployRecord?
    /// etcd hosts: how old the newest snapshot in the backup directory is; nil when there is none.
    public var newestSnapshotAge: TimeInterval?
}

/// A certificate installed on a node, read over SSH and parsed here.
public struct InstalledCertificate: Sendable, Equatable {
    public enum Status: String, Sendable { case ok, expiringSoon = "expiring", expired, unreadable, missing, outdated }
    public var path: String
    /// The file as read, to compare with the local PKI.
    public var pem: String = ""
    public var subject: String?
    public var notAfter: Date?
    public var status: Status
    public var detail: String?

    /// Certificates closer than this to their end are reported.
    public static let warnBefore: TimeInterval = 30 * 86400

    public init(path: String, pem: String, now: Date) {
        self.path = path
        self.pem = pem
        do {
            let certificate = try Certificate(pem: Data(pem.utf8))
            subject = certificate.subject.description
            notAfter = certificate.notAfter
            let left = certificate.notAfter.timeIntervalSince(now)
            status = left <= 0 ? .expired : left < Self.warnBefore ? .expiringSoon : .ok
        } catch {
            status = .unreadable
            detail = "\(error)"
        }
    }

    public var statusText: String {
        switch status {
        case .ok: "ok"
        case .expiringSoon: "expires \(notAfter.map(PKIDate.format) ?? "soon")"
        case .expired: "EXPIRED \(notAfter.map(PKIDate.format) ?? "")"
        case .unreadable: "unreadable: \(detail ?? "")"
        case .missing: "MISSING (deploy installs it)"
        case .outdated: "OUTDATED: differs from the local PKI (run `clusterup deploy`)"
        }
    }

    init(missing path: String) {
        self.path = path
        status = .missing
    }

    /// Residual validity in whole days (negative once expired).
    public func daysLeft(now: Date) -> Int? { notAfter.map { Int(($0.timeIntervalSince(now) / 86400).rounded(.down)) } }
}

/// etcd's own view from one member: the member list and each endpoint's health over TLS.
public struct EtcdStatus: Sendable {
    public var queriedOn: String?
    public var members: [EtcdMember] = []
    public var health: [EtcdEndpointHealth] = []
    /// Each answering member's `endpoint status`: database size and in use, leader, raft index, alarms.
    public var endpoints: [EtcdEndpointStatus] = []
    public var error: String?

    public func endpoint(of member: EtcdMember) -> EtcdEndpointStatus? { endpoints.first { $0.memberID == member.id } }

    public var leader: EtcdEndpointStatus? {
        EtcdEndpointStatus.agreedLeader(endpoints).flatMap { id in endpoints.first { $0.memberID == id } }
    }

    /// Raft entries `member` has still to apply of the leader's; nil when either does not answer.
    public func lag(of member: EtcdMember) -> UInt64? {
        guard let mine = endpoint(of: member), let leader else { return nil }
        return mine.lag(behind: leader)
    }

    /// Alarms by member name, each reported once.
    public var alarms: [(member: String, alarm: String)] {
        var seen: [(String, String)] = []
        for endpoint in endpoints {
            // Every member reports the cluster's alarms: each is named after the member it is about.
            for (id, alarm) in endpoint.alarms {
                let name = members.first { $0.id == id }.map { $0.name.isEmpty ? $0.hexID : $0.name } ?? id.map { String($0, radix: 16) } ?? "?"
                if !seen.contains(where: { $0 == (name, alarm) }) { seen.append((name, alarm)) }
            }
        }
        return seen.map { (member: $0.0, alarm: $0.1) }
    }
}

public struct EtcdEndpointHealth: Sendable, Equatable, Decodable {
    public var endpoint: String
    public var healthy: Bool
    public var took: String?
    public var error: String?

    enum CodingKeys: String, CodingKey { case endpoint, healthy = "health", took, error }

    /// Parses `etcdctl endpoint health --cluster -w json` (etcdctl 3.4 prints a JSON array).
    public static func parseList(_ json: String, host: String) throws -> [EtcdEndpointHealth] {
        // etcdctl follows the array with "Error: unhealthy cluster" when a member is down.
        guard let start = json.firstIndex(of: "["), let end = json.lastIndex(of: "]"), start < end else {
            throw ClusterupError.remote("etcdctl endpoint health printed no JSON: \(json.prefix(200))", host: host)
        }
        do {
            return try JSONDecoder().decode([EtcdEndpointHealth].self, from: Data(json[start...end].utf8))
                .sorted { $0.endpoint < $1.endpoint }
        } catch {
            throw ClusterupError.remote("could not read etcdctl endpoint health: \(error)", host: host)
        }
    }
}

/// The units deploy manages, by role: what status reports and reset removes.
enum ManagedUnits {
    static func units(for host: InventoryHost, inventory: Inventory) -> [String] {
        var units: [String] = []
        if host.roles.contains(.lb) {
            units.append("haproxy.service")
            units.append(inventory.vrrp?.backend == .keepalived ? "keepalived.service" : "clusterup-vrrpd.service")
            if inventory.vrrp?.firewall == true { units.append(LoadBalancerComponent.firewallUnit) }
        }
        if host.roles.contains(.etcd) { units.append("etcd.service") }
        if host.roles.contains(.controlPlane) { units += Artifact.kubernetesComponents.map { "\($0).service" } }
        return units
    }

    /// Every unit deploy may have installed, whatever the roles now (a role may have been dropped).
    static let all = ["clusterup-vrrpd.service", "keepalived.service", LoadBalancerComponent.firewallUnit, "haproxy.service",
                      EtcdComponent.snapshotTimer, "etcd.service"]
        + Artifact.kubernetesComponents.map { "\($0).service" }
}

/// The probe `status` runs on each host, and its parser.
enum StatusProbe {
    static let pkiDirectory = NodeLayout.pkiDirectory

    static func script(for host: InventoryHost, inventory: Inventory, settings: DeploySettings) -> String {
        var script = "echo '@@units'\n" + HostObservedState.probeScript(paths: [], units: ManagedUnits.units(for: host, inventory: inventory))
        if let vip = inventory.vip, host.roles.contains(.lb) {
            script += vipScript(vip.address)
            if inventory.vrrp?.backend != .keepalived {
                let vrrpd = settings.artifact("clusterup-vrrpd")?.path ?? "/usr/local/bin/clusterup-vrrpd"
                script += "echo '@@vrrpd'; timeout 5 \(shellQuote(vrrpd)) status 2>&1 || true\n"
            }
            script += "echo '@@haproxy'; \(HAProxyNode.statsCSVCommand) 2>/dev/null || true\n"
        }
        if host.roles.contains(.etcd) {
            script += "echo '@@snapshot'; \(EtcdSnapshotAge.script(directory: settings.etcd.backupDirectory))\n"
        }
        script += certificatesScript()
        script += "echo '@@deployed'; cat \(shellQuote(DeployRecord.path)) 2>/dev/null || true\n"
        script += versionScript(for: host, inventory: inventory, settings: settings)
        return script
    }

    /// `@@addr` and the line of `ip -o addr` carrying the VIP, if this host holds it.
    static func vipScript(_ vip: String) -> String {
        "echo '@@addr'; ip -o addr show | grep -F ' \(vip)/' || true\n"
    }

    static func holdsVIP(_ sections: ProbeSections) -> Bool {
        !(sections.first("addr")?.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true)
    }

    /// The programs the host's roles run, by component name, with their path on the node.
    static func programs(for host: InventoryHost, inventory: Inventory, settings: DeploySettings) -> [(name: String, path: String)] {
        var names: [String] = []
        if host.roles.contains(.etcd) { names.append("etcd") }
        if host.roles.contains(.lb) {
            names += ["haproxy", inventory.vrrp?.backend == .keepalived ? "keepalived" : "clusterup-vrrpd"]
        }
        if host.roles.contains(.controlPlane) { names += Artifact.kubernetesComponents }
        return names.map { name in (name, settings.artifact(name)?.path ?? (name == "clusterup-vrrpd" ? "/usr/local/bin/clusterup-vrrpd" : name)) }
    }

    /// `@@version NAME` and the first line each program prints for its version (of the programs
    /// named in `only`, when given).
    static func versionScript(for host: InventoryHost, inventory: Inventory, settings: DeploySettings, only: Set<String>? = nil) -> String {
        programs(for: host, inventory: inventory, settings: settings).filter { only?.contains($0.name) ?? true }.map { name, path in
            // haproxy -v and keepalived --version print to stderr on some builds.
            let flag = name == "haproxy" ? "-v" : "--version"
            return "echo '@@version \(name)'; \(shellQuote(path)) \(flag) 2>&1 | head -n 1 || true\n"
        }.joined()
    }

    /// Component → first line of its version output, or "not installed".
    static func parseVersions(_ sections: ProbeSections) -> [String: String] {
        var versions: [String: String] = [:]
        for section in sections.all("version") {
            let line = section.body.split(separator: "\n").first.map(String.init) ?? ""
            versions[section.argument] = line.contains("not found") || line.contains("No such file") ? "not installed" : line
        }
        return versions
    }

    /// Prints every certificate under the node's PKI directory as `@@cert PATH` then its PEM.
    static func certificatesScript() -> String {
        let dir = shellQuote(pkiDirectory)
        // A file without a final newline must not swallow the next marker.
        return "if [ -d \(dir) ]; then for f in $(find \(dir) -name '*.crt' -type f | sort); do echo \"@@cert $f\"; cat \"$f\"; [ -z \"$(tail -c 1 \"$f\")\" ] || echo; done; fi\n"
    }

    static func parseCertificates(_ sections: ProbeSections, now: Date) -> [InstalledCertificate] {
        sections.all("cert").map { InstalledCertificate(path: $0.argument, pem: $0.body, now: now) }
    }

    static func parse(_ output: String, host: InventoryHost, inventory: Inventory, now: Date) throws -> HostStatus {
        let sections = ProbeSections(output)
        var status = HostStatus(name: host.name, roles: host.roles.sorted().map(\.rawValue))
        if let units = sections.first("units") {
            status.units = try HostObservedState.parse(units.body, host: host.name).units
        }
        if host.roles.contains(.lb), inventory.vip != nil {
            status.holdsVIP = holdsVIP(sections)
            if let vrrpd = sections.first("vrrpd") {
                // A stopped daemon answers with an error instead of JSON: report no instances.
                status.vrrp = (try? VRRPInstanceStatus.parse(vrrpd.body, host: host.name)) ?? []
            }
            // No answer from the stats endpoint: HAProxy is down, which the unit state reports.
            if let csv = sections.first("haproxy"), !csv.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                let backends = inventory.hosts(withRole: .controlPlane).map(\.name)
                let seen = HAProxyStats.backendStatus(csv.body)
                for name in backends { status.haproxyBackends[name] = seen[name] ?? "absent" }
            }
        }
        status.certificates = parseCertificates(sections, now: now)
        status.lastDeploy = sections.first("deployed").flatMap { DeployRecord.parse($0.body) }
        status.versions = parseVersions(sections)
        status.newestSnapshotAge = sections.first("snapshot").flatMap { EtcdSnapshotAge.parse($0.body) }
        return status
    }
}

public enum StatusCollector {
    public static func collect(
        inventory: Inventory, hosts selected: [InventoryHost]? = nil, settings: DeploySettings, sessions: HostSessions,
        now: @escaping @Sendable () -> Date = Date.init
    ) async -> ClusterStatus {
        let probed = selected ?? inventory.hosts
        let results = await sessions.run(probed, step: "probing") { host, connection, _ in
            let script = StatusProbe.script(for: host, inventory: inventory, settings: settings)
            let output = try connection.checkedOutput(script, timeout: 30)
            return try StatusProbe.parse(output, host: host, inventory: inventory, now: now())
        }
        let hosts = zip(probed, results).map { host, result in
            result.value ?? HostStatus(name: host.name, roles: host.roles.sorted().map(\.rawValue), error: describe(result.error ?? CancellationError()))
        }
        var etcd: EtcdStatus? = nil
        // etcd's view comes from any member, selected or not: it is the cluster's, not a host's.
        let etcdHosts = inventory.hosts(withRole: .etcd)
        if !etcdHosts.isEmpty {
            etcd = await etcdStatus(on: etcdHosts, unreachable: Set(hosts.filter { $0.error != nil }.map(\.name)),
                                    settings: settings, sessions: sessions)
        }
        let probedNames = Set(probed.map(\.name))
        return ClusterStatus(hosts: hosts, etcd: etcd, vip: inventory.vip?.address,
                             everyLBHostProbed: inventory.hosts(withRole: .lb).allSatisfy { probedNames.contains($0.name) })
    }

    /// Asks the first reachable member whose etcd answers; the others are only tried if it fails.
    static func etcdStatus(on hosts: [InventoryHost], unreachable: Set<String>, settings: DeploySettings, sessions: HostSessions) async -> EtcdStatus {
        let etcdctl = etcdctlPath(settings)
        let answer = await firstAnswer(from: hosts, unreachable: unreachable, sessions: sessions, step: "etcd") { host, connection in
            let list = try connection.run(Etcdctl.command(etcdctl, "member list -w json"), sudo: true, timeout: 20)
            guard list.succeeded else {
                throw ClusterupError.remote("etcdctl member list failed: \(list.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))", host: host.name)
            }
            let members = try EtcdMember.parseList(list.stdoutText, host: host.name)
            // Exits 1 when an endpoint is unhealthy but still prints every endpoint's state.
            let health = try connection.run(Etcdctl.command(etcdctl, "endpoint health --cluster -w json"), sudo: true, timeout: 30)
            // Prints the members that answer even when one does not (and then exits 1).
            let endpoints = try connection.run(Etcdctl.command(etcdctl, "endpoint status --cluster -w json"), sudo: true, timeout: 30)
            return EtcdStatus(queriedOn: host.name, members: members,
                              health: try EtcdEndpointHealth.parseList(health.stdoutText + "\n" + health.stderrText, host: host.name),
                              endpoints: (try? EtcdEndpointStatus.parse(endpoints.stdoutText, host: host.name)) ?? [])
        }
        switch answer {
        case .success(let status): return status
        case .failure(let error): return EtcdStatus(queriedOn: nil, error: error.message)
        }
    }

    /// The cluster's answer from the first of `hosts` that gives one (an etcd member: its view
    /// is the cluster's), or the last error.
    static func firstAnswer<Value: Sendable>(
        from hosts: [InventoryHost], unreachable: Set<String>, sessions: HostSessions, step: String,
        _ ask: @escaping @Sendable (InventoryHost, SSHConnection) throws -> Value
    ) async -> Result<Value, ClusterupError> {
        var lastError = "no etcd host is reachable"
        for host in hosts where !unreachable.contains(host.name) {
            let result = await sessions.run([host], step: step) { host, connection, _ in try ask(host, connection) }
            if let value = result.first?.value { return .success(value) }
            lastError = result.first?.error.map { describe($0) } ?? lastError
        }
        return .failure(.remote(lastError))
    }
}

/// `certs check-expiration --remote`: the certificates each node has installed.
public enum RemoteCertificates {
    /// Marks installed certificates that differ from the local PKI (renewed here, not deployed
    /// yet) and adds the ones the node should have but lacks. `expected`: remote path → local PEM.
    public static func compare(_ installed: [InstalledCertificate], expected: [String: String]) -> [InstalledCertificate] {
        func normalized(_ pem: String) -> String { pem.trimmingCharacters(in: .whitespacesAndNewlines) }
        var result = installed.map { cert -> InstalledCertificate in
            var cert = cert
            if cert.status == .ok || cert.status == .expiringSoon, let local = expected[cert.path], normalized(local) != normalized(cert.pem) {
                cert.status = .outdated
            }
            return cert
        }
        let present = Set(installed.map(\.path))
        for path in expected.keys.sorted() where !present.contains(path) {
            result.append(InstalledCertificate(missing: path))
        }
        return result
    }

    public static func collect(hosts: [InventoryHost], sessions: HostSessions, now: Date) async -> [HostResult<[InstalledCertificate]>] {
        await sessions.run(hosts, step: "reading certificates") { _, connection, _ in
            let output = try connection.checkedOutput(StatusProbe.certificatesScript(), timeout: 30)
            return StatusProbe.parseCertificates(ProbeSections(output), now: now)
        }
    }
}
