import ClusterupCore

/// Something a failure mode needs on a node before anything is broken there.
public enum FaultPrerequisite: Sendable, Equatable, Hashable {
    /// `nft` on the PATH (Debian's package nftables): the network cut is an nft ruleset.
    case nft
    /// nftables netdev chains on the egress hook of the interface (Linux 5.16 and nftables 1.0.1).
    case netdevEgress(interface: String)
    /// The unit active, with its daemon's processes in its control group: crash kills them there,
    /// and every mode that stops a daemon judges the stop by them being gone.
    case unitWithControlGroup(String)
}

/// Why a failure mode cannot run on a host, and how to get what it lacks.
public struct PreflightFinding: Sendable, Equatable {
    public var host: String
    /// What is wrong, in words ("nft is not installed (package nftables); ...").
    public var missing: String
    public var remedy: String
    /// The operator's to fix (a package, the kernel): exit 2. Otherwise a state of the cluster
    /// (a unit down) that `clusterup verify` also reports: exit 1.
    public var operatorFix: Bool

    public init(host: String, missing: String, remedy: String, operatorFix: Bool) {
        self.host = host
        self.missing = missing
        self.remedy = remedy
        self.operatorFix = operatorFix
    }
}

/// Decides what each failure mode needs on which hosts and judges what the hosts answered. Pure:
/// the runner sends `script` over SSH and hands the output to `findings`.
public enum FaultPreflight {
    /// What `mode` needs on every node it may break. `--stop-node` needs only the lab's power
    /// switch, which the command checks before it connects.
    public static func prerequisites(mode: FailureMode, stopNode: Bool, vrrpUnit: String, interface: String) -> [FaultPrerequisite] {
        switch mode {
        case .network: [.nft, .netdevEgress(interface: interface)]
        case .crash: stopNode ? [] : [.unitWithControlGroup(vrrpUnit)]
        case .graceful: [.unitWithControlGroup(vrrpUnit)]
        case .service: [.unitWithControlGroup(vrrpUnit), .unitWithControlGroup("haproxy.service")]
        }
    }

    /// The nodes a run may break: the holder of the moment and, with preempt, the configured
    /// holder it returns to; without preempt the VIP stays where it moved, so any lb host may be
    /// the master of a later round.
    public static func involvedHosts(holder: String, expectedHolder: String?, lbHosts: [String], rounds: Int) -> [String] {
        if rounds == 1 { return [holder] }
        guard let expectedHolder else { return lbHosts }
        return holder == expectedHolder ? [holder] : [holder, expectedHolder]
    }

    /// One POSIX shell script that prints one `key=value` line per fact the prerequisites need.
    /// The egress check creates and deletes a throwaway netdev table whose one chain accepts
    /// everything: harmless, and the only sure test of both the kernel and nft.
    public static func script(_ prerequisites: [FaultPrerequisite]) -> String {
        var lines = [". /etc/os-release 2>/dev/null; echo \"os_id=${ID:-unknown}\"; echo \"kernel=$(uname -r)\""]
        for prerequisite in prerequisites {
            switch prerequisite {
            case .nft:
                lines.append("echo \"nft=$(command -v nft 2>/dev/null)\"")
            case .netdevEgress(let interface):
                let table = "table netdev \(probeTable) {\n  chain egress { type filter hook egress device \"\(interface)\" priority 0; policy accept; }\n}"
                lines.append("""
                    if command -v nft >/dev/null 2>&1; then
                      out=$(printf '%s\\n' \(shellQuote(table)) | nft -f - 2>&1); rc=$?
                      nft delete table netdev \(probeTable) 2>/dev/null
                      if [ $rc -eq 0 ]; then echo "egress=ok"; else echo "egress=$(echo "$out" | head -n 1 | tr -s ' ')"; fi
                    fi
                    """)
            case .unitWithControlGroup(let unit):
                let key = factKey(unit)
                lines.append("""
                    \(Fault.unitPIDs(unit))
                    \(Fault.daemonPIDs(unit))
                    echo "\(key)_state=$(systemctl is-active \(shellQuote(unit)) 2>/dev/null)"
                    if unit_pids >/dev/null; then echo "\(key)_procs=$(daemon_pids | grep -c .)"; else echo "\(key)_procs=none"; fi
                    """)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The table the egress check creates and deletes at once (not the cut's own table).
    static let probeTable = "clusterup_verify_preflight"

    static func factKey(_ unit: String) -> String {
        "unit_" + unit.map { $0.isLetter || $0.isNumber ? $0 : "_" }
    }

    /// `key=value` lines → facts; other lines are ignored.
    public static func parse(_ output: String) -> [String: String] {
        var facts: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            facts[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        }
        return facts
    }

    /// What `host` lacks of `prerequisites`, judged from its facts; empty when it has all.
    public static func findings(host: String, prerequisites: [FaultPrerequisite], facts: [String: String]) -> [PreflightFinding] {
        var result: [PreflightFinding] = []
        let nftMissing = facts["nft", default: ""].isEmpty
        for prerequisite in prerequisites {
            switch prerequisite {
            case .nft where nftMissing:
                result.append(PreflightFinding(
                    host: host, missing: "nft is not installed (package nftables); --mode network cuts the node off with it",
                    remedy: install("nftables", osID: facts["os_id"]), operatorFix: true))
            case .nft:
                break
            case .netdevEgress(let interface):
                // Without nft the egress check could not run; the nft finding says what to do.
                guard !nftMissing, let answer = facts["egress"], answer != "ok" else { continue }
                result.append(PreflightFinding(
                    host: host,
                    missing: "nftables netdev egress hooks do not work on \(interface) (nft said: \(answer.isEmpty ? "nothing" : answer))",
                    remedy: "the network cut needs Linux 5.16 or later and nftables 1.0.1 or later (kernel here: \(facts["kernel"] ?? "unknown")),"
                        + " and vrrp.interface to name the node's interface; or use --mode crash or --mode graceful",
                    operatorFix: true))
            case .unitWithControlGroup(let unit):
                let key = factKey(unit)
                let state = facts["\(key)_state", default: ""]
                let processes = Int(facts["\(key)_procs", default: ""]) ?? 0
                if state != "active" {
                    result.append(PreflightFinding(
                        host: host, missing: "\(unit) is \(state.isEmpty ? "unknown" : state), not active",
                        remedy: "start it (`systemctl start \(unit)`) or deploy again; `clusterup verify` shows the cluster's state",
                        operatorFix: false))
                } else if processes == 0 {
                    result.append(PreflightFinding(
                        host: host, missing: "\(unit) is active but its daemon was not found in its control group",
                        remedy: "the fault is judged by the daemon's processes there: check `systemctl status \(unit)`"
                            + " and that /sys/fs/cgroup (v2, or v1's name=systemd) is mounted",
                        operatorFix: false))
                }
            }
        }
        return result
    }

    /// The command that installs `package` on a host of that distribution.
    static func install(_ package: String, osID: String?) -> String {
        switch osID {
        case "debian", "ubuntu": "install it: apt-get install \(package)"
        case "rhel", "centos", "rocky", "almalinux", "fedora": "install it: dnf install \(package)"
        default: "install the package \(package)"
        }
    }

    /// One error for all the findings: exit 2 when any is the operator's to fix.
    public static func error(_ findings: [PreflightFinding], mode: FailureMode) -> ClusterupError? {
        guard !findings.isEmpty else { return nil }
        let message = "--mode \(mode.rawValue) cannot run, nothing was broken: "
            + findings.map { "\($0.host): \($0.missing)" }.joined(separator: "; ")
        let hint = findings.map { "\($0.host): \($0.remedy)" }.joined(separator: "; ")
        // Each finding names its host; a location in front would name them twice.
        return findings.contains(where: \.operatorFix) ? .badInput(message, hint: hint) : .remote(message, hint: hint)
    }
}
