import VRRPConfig
import CVRRPSys

/// Whether https checks can run: libssl.so.3 is loaded at run time, never linked.
func cvrrpTLSAvailable() -> Bool { cvrrp_tls_available() == 1 }

extension DaemonConfig {
    /// Refuses a file with https checks on a node without libssl (see `httpsChecks`).
    func requireTLSRuntime(file: String) throws(ConfigError) {
        guard let first = httpsChecks.first, !cvrrpTLSAvailable() else { return }
        throw ConfigError(file: file, location: nil, path: first.path,
                          message: "https checks need libssl3 on this node (apt install libssl3), or use http: \(first.url)")
    }
}
