import ClusterupNodes
import ClusterupCore
import Foundation

/// One line of `clusterup verify`: a named check, on a host or on the cluster, passed or not.
public struct CheckResult: Sendable, Equatable {
    public var check: String
    /// nil for a cluster-wide check (VIP holders).
    public var host: String?
    public var ok: Bool
    public var detail: String
    /// Passed, but worth a look (an old snapshot): shown as WARN, does not fail verify.
    public var warning: Bool

    public init(check: String, host: String?, ok: Bool, detail: String, warning: Bool = false) {
        self.check = check
        self.host = host
        self.ok = ok
        self.detail = detail
        self.warning = warning
    }

    public var json: JSONValue {
        .object([("check", .string(check)), ("host", .optional(host)), ("ok", .bool(ok)), ("warning", .bool(warning)), ("detail", .string(detail))])
    }
}

/// How many hosts hold the VIP decides the VRRP verdict: one is healthy, none is an outage, two
/// or more is split brain (every holder answers ARP for the address).
public enum VIPVerdict: Sendable, Equatable {
    case oneHolder(String)
    case noHolder
    case splitBrain([String])

    public init(holders: [String]) {
        switch holders.count {
        case 0: self = .noHolder
        case 1: self = .oneHolder(holders[0])
        default: self = .splitBrain(holders.sorted())
        }
    }

    public var isHealthy: Bool {
        if case .oneHolder = self { return true }
        return false
    }

    public var isSplitBrain: Bool {
        if case .splitBrain = self { return true }
        return false
    }
}

/// What `verify` expects of each host, from the inventory: the units its roles run.
public enum ExpectedServices {
    public static func units(for host: InventoryHost, backend: VRRPSettings.Backend?) -> [String] {
        var units: [String] = []
        if host.roles.contains(.etcd) { units.append("etcd.service") }
        if host.roles.contains(.controlPlane) {
            units += ["kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service"]
        }
        if host.roles.contains(.lb) {
            units.append("haproxy.service")
            if let backend { units.append(vrrpUnit(backend)) }
        }
        return units
    }

    public static func vrrpUnit(_ backend: VRRPSettings.Backend) -> String {
        switch backend {
        case .clusterupVRRPD: "clusterup-vrrpd.service"
        case .keepalived: "keepalived.service"
        }
    }
}

/// Turns the surveys into check results. Pure: the clock is a parameter.
public struct VerifyEvaluator: Sendable {
    public var inventory: Inventory
    public var now: Date
    public var expiryDays: Int

    public init(inventory: Inventory, now: Date, expiryDays: Int) {
        self.inventory = inventory
        self.now = now
        self.expiryDays = expiryDays
    }

    /// `surveys`: host name → survey, or the error that kept us from getting one.
    public func evaluate(_ surveys: [(host: InventoryHost, survey: Result<HostSurvey, ClusterupError>)]) -> [CheckResult] {
        var results: [CheckResult] = []
        var holders: [String] = []
        var unknown: [String] = []
        for (host, outcome) in surveys {
            switch outcome {
            case .failure(let error):
                results.append(CheckResult(check: "ssh", host: host.name, ok: false, detail: error.hint.map { "\(error.message) (\($0))" } ?? error.message))
                if host.roles.contains(.lb) { unknown.append(host.name) }
            case .success(let survey):
                results.append(CheckResult(check: "ssh", host: host.name, ok: true, detail: "connected"))
                results += hostChecks(host, survey)
                if let vip = inventory.vip, host.roles.contains(.lb), survey.addresses.contains(vip.address) {
                    holders.append(host.name)
                }
            }
        }
        if let vip = inventory.vip, !inventory.hosts(withRole: .lb).isEmpty {
            results.append(vipCheck(vip.address, holders: holders, unreachable: unknown))
        }
        return results
    }

    /// etcd hosts: no alarm is active, this member is not lagging behind the leader, and (with
    /// etcd.snapshots) the newest snapshot is younger than twice the schedule (a warning).
    func etcdMaintenanceChecks(_ host: InventoryHost, _ survey: HostSurvey) -> [CheckResult] {
        var results: [CheckResult] = []
        let statuses = survey.etcdStatuses ?? []
        let alarms = Set(statuses.flatMap { $0.alarms.map(\.alarm) }).sorted()
        results.append(CheckResult(
            check: "etcd alarms", host: host.name, ok: !statuses.isEmpty && alarms.isEmpty,
            detail: statuses.isEmpty ? "no member status" : alarms.isEmpty ? "none" : "active: \(alarms.joined(separator: ", ")) (see `clusterup etcd alarms`)"))
        let address = host.privateAddress.contains(":") ? "[\(host.privateAddress)]" : host.privateAddress
        if let mine = statuses.first(where: { $0.endpoint.contains("://\(address):") }),
           let leader = statuses.first(where: { $0.memberID == mine.leader }) {
            let lag = mine.lag(behind: leader)
            results.append(CheckResult(
                check: "etcd lag", host: host.name, ok: lag <= EtcdEndpointStatus.laggingAfter,
                detail: mine.isLeader ? "leader" : "\(lag) raft entries behind the leader (limit \(EtcdEndpointStatus.laggingAfter))"))
        } else {
            results.append(CheckResult(check: "etcd lag", host: host.name, ok: false, detail: "the member or its leader gave no status"))
        }
        if let schedule = inventory.deploy.etcd.snapshots {
            let limit = 2 * Double(schedule.every.components.seconds)
            let age = survey.newestSnapshotAge
            let fresh = age.map { $0 <= limit } ?? false
            results.append(CheckResult(
                check: "etcd snapshot", host: host.name, ok: true,
                detail: age.map { "newest \(Int($0)) s old" + (fresh ? "" : ", older than twice etcd.snapshots.every (\(schedule.every.inventoryText))") }
                    ?? "no snapshot in \(inventory.deploy.etcd.backupDirectory)",
                warning: !fresh))
        }
        return results
    }

    public func vipCheck(_ address: String, holders: [String], unreachable: [String]) -> CheckResult {
        let verdict = VIPVerdict(holders: holders)
        var detail: String
        switch verdict {
        case .oneHolder(let host): detail = "\(address) held by \(host)"
        case .noHolder: detail = "no lb host holds \(address)"
        case .splitBrain(let hosts): detail = "split brain: \(address) held by \(hosts.joined(separator: ", "))"
        }
        if !unreachable.isEmpty { detail += " (not reachable, not counted: \(unreachable.joined(separator: ", ")))" }
        return CheckResult(check: "vip", host: nil, ok: verdict.isHealthy, detail: detail)
    }

    func hostChecks(_ host: InventoryHost, _ survey: HostSurvey) -> [CheckResult] {
        var results: [CheckResult] = []
        let expected = ExpectedServices.units(for: host, backend: inventory.vrrp?.backend)
        let inactive = expected.filter { survey.units[$0] != "active" }
        results.append(CheckResult(
            check: "services", host: host.name, ok: inactive.isEmpty,
            detail: inactive.isEmpty
                ? "\(expected.count) active"
                : "not active: " + inactive.map { "\($0) (\(survey.units[$0] ?? "unknown"))" }.joined(separator: ", ")))
        results.append(certificateCheck(host, survey.certificates))
        if host.roles.contains(.etcd) {
            let health = survey.etcd ?? HostSurvey.EtcdHealth(healthy: false, detail: "not surveyed")
            results.append(CheckResult(check: "etcd", host: host.name, ok: health.healthy, detail: health.detail))
            results += etcdMaintenanceChecks(host, survey)
        }
        if host.roles.contains(.lb) {
            results.append(haproxyCheck(host, survey.haproxyBackends))
        }
        return results
    }

    func certificateCheck(_ host: InventoryHost, _ certificates: [HostSurvey.CertificateFacts]) -> CheckResult {
        guard !certificates.isEmpty else {
            return CheckResult(check: "certificates", host: host.name, ok: false,
                               detail: "no certificates under \(HostSurvey.certificateDirectory)")
        }
        let horizon = now.addingTimeInterval(Double(expiryDays) * 86_400)
        var problems: [String] = []
        for cert in certificates {
            let name = cert.path.hasPrefix(HostSurvey.certificateDirectory + "/")
                ? String(cert.path.dropFirst(HostSurvey.certificateDirectory.count + 1)) : cert.path
            guard let notAfter = cert.notAfter else {
                problems.append("\(name) unreadable (\(cert.error ?? "?"))")
                continue
            }
            if notAfter <= now {
                problems.append("\(name) expired \(Self.day(notAfter))")
            } else if notAfter <= horizon {
                let days = Int(notAfter.timeIntervalSince(now) / 86_400)
                problems.append("\(name) expires in \(days) day(s) (\(Self.day(notAfter)))")
            }
        }
        let soonest = certificates.compactMap(\.notAfter).min()
        return CheckResult(
            check: "certificates", host: host.name, ok: problems.isEmpty,
            detail: problems.isEmpty
                ? "\(certificates.count) valid beyond \(expiryDays) days (earliest expiry \(soonest.map(Self.day) ?? "?"))"
                : problems.joined(separator: "; ") + " (renew: clusterup certs renew, then deploy)")
    }

    func haproxyCheck(_ host: InventoryHost, _ backends: [String: String]?) -> CheckResult {
        guard let backends else {
            return CheckResult(check: "haproxy", host: host.name, ok: false,
                               detail: "stats on 127.0.0.1:\(HAProxyNode.statsPort) did not answer")
        }
        let expected = inventory.hosts(withRole: .controlPlane).map(\.name)
        let down = expected.filter { backends[$0] != "UP" }
        return CheckResult(
            check: "haproxy", host: host.name, ok: down.isEmpty,
            detail: down.isEmpty
                ? "\(expected.count) apiserver backend(s) up"
                : "not up: " + down.map { "\($0) (\(backends[$0] ?? "missing"))" }.joined(separator: ", "))
    }

    static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}
