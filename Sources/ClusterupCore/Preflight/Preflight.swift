/// Judges a host's facts against what clusterup will need there. Pure: `check` prints the
/// findings, `deploy` refuses to start when any is an error.
public struct Preflight: Sendable {
    public struct Finding: Sendable, Equatable, Codable {
        public enum Severity: String, Sendable, Codable, Comparable {
            case ok, warning, error
            private var rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
            public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
        }
        public var check: String
        public var severity: Severity
        public var detail: String

        public init(_ check: String, _ severity: Severity, _ detail: String) {
            self.check = check
            self.severity = severity
            self.detail = detail
        }
    }

    /// A TCP port the host's roles need, what needs it, and the programs that may already hold it
    /// (our own service on a re-run).
    public struct PortNeed: Sendable, Equatable {
        public var port: Int
        public var purpose: String
        public var ownPrograms: Set<String>

        public init(port: Int, purpose: String, ownPrograms: Set<String>) {
            self.port = port
            self.purpose = purpose
            self.ownPrograms = ownPrograms
        }
    }

    public var ports: [PortNeed]
    public var minimumDiskBytes: Int64 = 2 << 30
    /// Beyond this, TLS certificates issued here may look not-yet-valid there.
    public var maximumClockSkewSeconds: Double = 30
    public var warnClockSkewSeconds: Double = 1

    public init(ports: [PortNeed]) {
        self.ports = ports
    }

    /// The ports each role needs, for an LB frontend on `lbPort`.
    public static func ports(etcd: Bool, controlPlane: Bool, lb: Bool, lbPort: Int) -> [PortNeed] {
        var needs: [PortNeed] = []
        if etcd {
            needs.append(.init(port: 2379, purpose: "etcd client", ownPrograms: ["etcd"]))
            needs.append(.init(port: 2380, purpose: "etcd peer", ownPrograms: ["etcd"]))
        }
        if controlPlane {
            needs.append(.init(port: 6443, purpose: "kube-apiserver", ownPrograms: ["kube-apiserver"]))
        }
        if lb {
            needs.append(.init(port: lbPort, purpose: "HAProxy frontend", ownPrograms: ["haproxy"]))
        }
        return needs
    }

    /// `clockSkewSeconds` is the host's clock minus ours, measured at the middle of the round trip.
    public func evaluate(_ facts: HostFacts, clockSkewSeconds: Double) -> [Finding] {
        var findings: [Finding] = []
        findings.append(
            facts.systemdVersion.map { .init("systemd", .ok, "systemd \($0)") }
                ?? .init("systemd", .error, "PID 1 is not systemd; clusterup runs its services as systemd units"))
        let archOK = ["x86_64", "aarch64"].contains(facts.arch)
        findings.append(.init("arch", archOK ? .ok : .warning,
                              archOK ? facts.arch : "\(facts.arch): artifacts must be supplied for this architecture"))
        let skew = abs(clockSkewSeconds)
        let skewText = "\(formatSeconds(clockSkewSeconds)) against this machine"
        findings.append(.init(
            "clock", skew > maximumClockSkewSeconds ? .error : skew > warnClockSkewSeconds ? .warning : .ok,
            skew > warnClockSkewSeconds ? "\(skewText); synchronise clocks (chrony/systemd-timesyncd)" : skewText))
        let freeGiB = Double(facts.diskFreeBytes) / Double(1 << 30)
        findings.append(.init(
            "disk", facts.diskFreeBytes < minimumDiskBytes ? .error : .ok,
            "\(formatGiB(freeGiB)) free under /var/lib" + (facts.diskFreeBytes < minimumDiskBytes ? "; need at least \(formatGiB(Double(minimumDiskBytes) / Double(1 << 30)))" : "")))
        findings.append(.init(
            "swap", facts.swapTotalBytes > 0 ? .warning : .ok,
            facts.swapTotalBytes > 0 ? "\(formatGiB(Double(facts.swapTotalBytes) / Double(1 << 30))) of swap; a kubelet on this host would need it off" : "off"))
        for need in ports {
            let name = "port \(need.port)"
            if let holder = facts.listeningTCPPorts[need.port] {
                if need.ownPrograms.contains(holder) {
                    findings.append(.init(name, .ok, "\(need.purpose): held by \(holder) (ours)"))
                } else {
                    let who = holder.isEmpty ? "another program" : holder
                    findings.append(.init(name, .error, "\(need.purpose): already in use by \(who); stop it or choose another port"))
                }
            } else {
                findings.append(.init(name, .ok, "\(need.purpose): free"))
            }
        }
        return findings
    }

    private func formatSeconds(_ seconds: Double) -> String {
        let ms = (seconds * 1000).rounded()
        return abs(ms) < 1000 ? "\(Int(ms)) ms" : "\(Double(Int(seconds * 10)) / 10) s"
    }

    private func formatGiB(_ gib: Double) -> String {
        "\(Double(Int(gib * 10)) / 10) GiB"
    }
}
