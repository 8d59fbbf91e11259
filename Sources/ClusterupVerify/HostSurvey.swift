import ClusterupCore
import ClusterupNodes
import Foundation

/// What one host reports for `verify`, gathered by one script over one SSH channel so that a
/// host costs one round trip. Parsing is pure; `HostSurvey.script` is what runs on the node.
public struct HostSurvey: Sendable, Equatable {
    public struct CertificateFacts: Sendable, Equatable {
        public var path: String
        /// nil when openssl could not read the file.
        public var notAfter: Date?
        public var error: String?
        /// Normalized hexadecimal (`SerialNumber`), nil when openssl could not read it.
        public var serial: String?

        public init(path: String, notAfter: Date?, error: String? = nil, serial: String? = nil) {
            self.path = path
            self.notAfter = notAfter
            self.error = error
            self.serial = serial
        }
    }

    public struct EtcdHealth: Sendable, Equatable {
        public var healthy: Bool
        public var detail: String

        public init(healthy: Bool, detail: String) {
            self.healthy = healthy
            self.detail = detail
        }
    }

    /// Every IPv4/IPv6 address on the host, without prefix length.
    public var addresses: Set<String> = []
    /// Unit name → `systemctl is-active` answer.
    public var units: [String: String] = [:]
    public var certificates: [CertificateFacts] = []
    /// Backend server name → HAProxy status (UP, DOWN, MAINT…); nil when stats were not asked for
    /// or did not answer.
    public var haproxyBackends: [String: String]?
    public var etcd: EtcdHealth?
    /// clusterup-vrrpd's own view (state per instance), when it runs there.
    public var vrrpStates: [String]?
    /// etcd hosts: every member's `endpoint status` as this host's member sees the cluster.
    public var etcdStatuses: [EtcdEndpointStatus]?
    /// etcd hosts: age of the newest snapshot in the backup directory; nil when there is none.
    public var newestSnapshotAge: TimeInterval?

    public init() {}

    public static let certificateDirectory = NodeLayout.pkiDirectory

    /// The survey script. Each section starts with a `@@name` line; nothing in it changes the host.
    public static func script(units: [String], haproxy: Bool, etcdctl: String?, vrrpd: Bool, etcdBackupDirectory: String? = nil) -> String {
        var lines = [
            "echo @@addr", "ip -o addr show 2>&1",
            "echo @@units",
        ]
        for unit in units {
            lines.append("printf '%s\\t%s\\n' \(shellQuote(unit)) \"$(systemctl is-active \(shellQuote(unit)) 2>/dev/null)\"")
        }
        lines += [
            "echo @@certs",
            // The serial tells which file a server presents (the served-certificates check).
            "for f in $(find \(certificateDirectory) -name '*.crt' 2>/dev/null | sort); do printf '%s\\t%s\\t%s\\n' \"$f\" \"$(openssl x509 -noout -enddate -in \"$f\" 2>&1 | head -1)\" \"$(openssl x509 -noout -serial -in \"$f\" 2>&1 | head -1)\"; done",
        ]
        if haproxy {
            lines += ["echo @@haproxy", HAProxyNode.statsCSVCommand]
        }
        if let etcdctl {
            lines += ["echo @@etcd", Etcdctl.command(etcdctl, "endpoint health") + " 2>&1; echo \"exit=$?\""]
            lines += ["echo @@etcdstatus", Etcdctl.command(etcdctl, "endpoint status --cluster -w json") + " 2>/dev/null"]
        }
        if let etcdBackupDirectory {
            lines += ["echo @@snapshot", EtcdSnapshotAge.script(directory: etcdBackupDirectory)]
        }
        if vrrpd {
            lines += ["echo @@vrrpd", "clusterup-vrrpd status 2>&1 | tr -d '\\n'; echo"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses the script's output.
    public static func parse(_ output: String) -> HostSurvey {
        var survey = HostSurvey()
        var sections: [String: [Substring]] = [:]
        var current: String?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("@@") {
                current = String(line.dropFirst(2))
                sections[current!, default: []] = []
            } else if let current {
                sections[current, default: []].append(line)
            }
        }
        for line in sections["addr"] ?? [] {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let index = fields.firstIndex(where: { $0 == "inet" || $0 == "inet6" }), index + 1 < fields.count {
                survey.addresses.insert(String(fields[index + 1].split(separator: "/").first ?? ""))
            }
        }
        for line in sections["units"] ?? [] {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2 else { continue }
            survey.units[String(fields[0])] = fields[1].isEmpty ? "unknown" : String(fields[1])
        }
        for line in sections["certs"] ?? [] {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }
            let answer = String(fields[1])
            let serial = fields.count == 3 ? SerialNumber.parse(String(fields[2])) : nil
            if answer.hasPrefix("notAfter="), let date = parseOpenSSLDate(String(answer.dropFirst("notAfter=".count))) {
                survey.certificates.append(CertificateFacts(path: String(fields[0]), notAfter: date, serial: serial))
            } else {
                survey.certificates.append(CertificateFacts(path: String(fields[0]), notAfter: nil, error: answer))
            }
        }
        if let csv = sections["haproxy"] {
            survey.haproxyBackends = HAProxyStats.parse(csv.joined(separator: "\n"))
        }
        if let etcd = sections["etcd"] {
            let text = etcd.filter { !$0.isEmpty }
            let exit = text.last.flatMap { $0.hasPrefix("exit=") ? Int($0.dropFirst(5)) : nil }
            let body = text.filter { !$0.hasPrefix("exit=") }.joined(separator: "; ")
            let healthy = exit == 0 && body.contains("is healthy")
            survey.etcd = EtcdHealth(healthy: healthy, detail: body.isEmpty ? "no answer from etcdctl" : body)
        }
        if let status = sections["etcdstatus"] {
            survey.etcdStatuses = try? EtcdEndpointStatus.parse(status.joined(separator: "\n"), host: "")
        }
        survey.newestSnapshotAge = sections["snapshot"].flatMap { EtcdSnapshotAge.parse($0.joined(separator: "\n")) }
        if let vrrpd = sections["vrrpd"], let line = vrrpd.first(where: { !$0.isEmpty }) {
            survey.vrrpStates = (try? VRRPInstanceStatus.parse(String(line), host: ""))?.map(\.state)
        }
        return survey
    }

    /// `Nov 22 05:51:20 2027 GMT`, as `openssl x509 -enddate` prints it.
    public static func parseOpenSSLDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        // Days below 10 are space-padded ("Nov  2"); collapse the runs of spaces first.
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let collapsed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return formatter.date(from: collapsed)
    }
}
