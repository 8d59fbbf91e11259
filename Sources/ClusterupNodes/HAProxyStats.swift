/// HAProxy on an lb node as clusterup configures it: the backend of kube-apiservers and the
/// statistics listener on loopback (templates/haproxy.cfg.mustache renders both from here).
public enum HAProxyNode {
    public static let apiserverBackend = "kube-apiservers"
    public static let statsPort = 8404
    /// The runtime API at admin level (`stats socket … level admin`): root and the haproxy group only.
    public static let adminSocket = "/run/haproxy/admin.sock"
    /// Prints the statistics CSV (empty when HAProxy does not answer); runs as any user.
    public static let statsCSVCommand = "curl -s --max-time 2 'http://127.0.0.1:\(statsPort)/stats;csv'"
}

/// Reads HAProxy's CSV statistics (deploy's checks, status, verify).
public enum HAProxyStats {
    /// Server name → status (UP, DOWN, MAINT…) for one backend.
    public static func backendStatus(_ csv: String, backend: String = HAProxyNode.apiserverBackend) -> [String: String] {
        parse(csv, backend: backend) ?? [:]
    }

    /// The same, nil when the text has no CSV header (HAProxy did not answer with statistics).
    public static func parse(_ csv: String, backend: String = HAProxyNode.apiserverBackend) -> [String: String]? {
        column(csv, backend: backend, named: "status")?.mapValues { $0.split(separator: " ").first.map(String.init) ?? "" }
    }

    /// Server name → one column of its row (`status`, `scur`: current sessions) for one backend,
    /// nil when the text has no CSV header. The stats page and the runtime API's `show stat`
    /// print the same CSV.
    public static func column(_ csv: String, backend: String = HAProxyNode.apiserverBackend, named column: String) -> [String: String]? {
        var header: [Substring] = []
        var result: [String: String] = [:]
        for line in csv.split(separator: "\n") {
            if line.hasPrefix("# ") {
                header = line.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false)
                continue
            }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard let px = header.firstIndex(of: "pxname"), let sv = header.firstIndex(of: "svname"),
                  let wanted = header.firstIndex(of: Substring(column)), fields.count > max(px, sv, wanted),
                  fields[px] == backend, fields[sv] != "BACKEND", fields[sv] != "FRONTEND"
            else { continue }
            result[String(fields[sv])] = String(fields[wanted])
        }
        return header.isEmpty ? nil : result
    }
}
