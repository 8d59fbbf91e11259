/// What `clusterup check` learns about a host, parsed from the output of `HostFacts.probeScript`.
///
/// The probe is one POSIX shell script run over one SSH channel, so checking a host costs one
/// round trip; parsing is pure so it can be tested without a host.
public struct HostFacts: Sendable, Equatable, Codable {
    public var hostname: String
    public var os: String
    public var osID: String
    public var osVersion: String
    public var kernel: String
    public var arch: String
    /// systemd's version number, nil when PID 1 is not systemd.
    public var systemdVersion: Int?
    /// The host's clock when the probe ran, nanoseconds since the epoch.
    public var clockNanoseconds: Int64
    /// Free bytes on the filesystem holding /var/lib.
    public var diskFreeBytes: Int64
    public var swapTotalBytes: Int64
    public var memoryTotalBytes: Int64
    /// TCP ports something listens on (any address), with the listening program's name when the
    /// probe could see it ("" otherwise), so a re-run can tell our own etcd from a stranger.
    public var listeningTCPPorts: [Int: String]

    public init(
        hostname: String, os: String, osID: String, osVersion: String, kernel: String, arch: String,
        systemdVersion: Int?, clockNanoseconds: Int64, diskFreeBytes: Int64, swapTotalBytes: Int64,
        memoryTotalBytes: Int64, listeningTCPPorts: [Int: String]
    ) {
        self.hostname = hostname
        self.os = os
        self.osID = osID
        self.osVersion = osVersion
        self.kernel = kernel
        self.arch = arch
        self.systemdVersion = systemdVersion
        self.clockNanoseconds = clockNanoseconds
        self.diskFreeBytes = diskFreeBytes
        self.swapTotalBytes = swapTotalBytes
        self.memoryTotalBytes = memoryTotalBytes
        self.listeningTCPPorts = listeningTCPPorts
    }

    /// Prints one `key=value` line per fact. Only POSIX sh, coreutils, procps and iproute2 tools
    /// every supported distribution has; a missing tool leaves its key out rather than failing.
    public static let probeScript = #"""
    . /etc/os-release 2>/dev/null
    echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
    echo "os=${PRETTY_NAME:-unknown}"
    echo "os_id=${ID:-unknown}"
    echo "os_version=${VERSION_ID:-unknown}"
    echo "kernel=$(uname -r)"
    echo "arch=$(uname -m)"
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
      echo "systemd=$(systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"
    fi
    echo "clock_ns=$(date +%s%N)"
    d=/var/lib; [ -d "$d" ] || d=/
    echo "disk_free_kb=$(df -Pk "$d" | awk 'NR==2 {print $4}')"
    echo "swap_kb=$(awk '/^SwapTotal:/ {print $2}' /proc/meminfo)"
    echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
    if command -v ss >/dev/null 2>&1; then
      echo "tcp_listen=$(ss -Hltnp 2>/dev/null | awk '{n=split($4,a,":"); p=""; if (match($0, /\(\("[^"]*"/)) p=substr($0, RSTART+3, RLENGTH-4); print a[n] "/" p}' | sort -u | tr '\n' ',')"
    fi
    """#

    /// Parses the probe's output. `host` names the host in errors.
    public static func parse(_ output: String, host: String) throws -> HostFacts {
        var values: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        func required(_ key: String) throws -> String {
            guard let value = values[key], !value.isEmpty else {
                throw ClusterupError.remote(
                    "the host probe did not report '\(key)'", host: host,
                    hint: "run `clusterup exec --hosts \(host) -- uname -a` to see whether the shell works there")
            }
            return value
        }
        func number(_ key: String) throws -> Int64 {
            let text = try required(key)
            guard let value = Int64(text) else {
                throw ClusterupError.remote("the host probe reported '\(key)=\(text)', not a number", host: host)
            }
            return value
        }
        var ports: [Int: String] = [:]
        for entry in (values["tcp_listen"] ?? "").split(separator: ",") {
            let parts = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let port = parts.first.flatMap({ Int($0) }) else { continue }
            let program = parts.count > 1 ? String(parts[1]) : ""
            if ports[port, default: ""].isEmpty { ports[port] = program }
        }
        return HostFacts(
            hostname: try required("hostname"),
            os: values["os"] ?? "unknown",
            osID: values["os_id"] ?? "unknown",
            osVersion: values["os_version"] ?? "unknown",
            kernel: try required("kernel"),
            arch: try required("arch"),
            systemdVersion: values["systemd"].flatMap { Int($0) },
            clockNanoseconds: try number("clock_ns"),
            diskFreeBytes: try number("disk_free_kb") * 1024,
            swapTotalBytes: (values["swap_kb"].flatMap { Int64($0) } ?? 0) * 1024,
            memoryTotalBytes: (values["mem_kb"].flatMap { Int64($0) } ?? 0) * 1024,
            listeningTCPPorts: ports
        )
    }
}
