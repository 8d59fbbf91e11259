import ClusterupCore
import ClusterupDeploy

/// Deploy's restarts of running apiservers drained with `BackendDrain`: what the command line gives
/// deploy (`DeployOptions.apiserverRestartGuard`) so that a deploy on a live cluster (a node joining
/// or leaving changes every apiserver's certificate and `--etcd-servers`) restarts each one out of
/// rotation, as `upgrade apply` and `certs renew --deploy` do.
public struct DrainedRestarts: APIServerRestartGuard {
    public let socat: String
    public let sessionsLimit: Duration

    public init(socat: String = "socat", sessionsLimit: Duration = .seconds(30)) {
        self.socat = socat
        self.sessionsLimit = sessionsLimit
    }

    public func drain(_ server: String, balancers: [String: any RemoteShell]) throws -> String {
        let drained = try BackendDrain(balancers: balancers, socat: socat, sessionsLimit: sessionsLimit).drain(server)
        let on = balancers.keys.sorted().joined(separator: ", ")
        return drained.sessionsLeft == 0
            ? "kube-apiserver drained on \(on)"
            : "kube-apiserver drained on \(on), \(drained.sessionsLeft) session(s) still open after \(sessionsLimit) (the restart closes them)"
    }

    public func undrain(_ server: String, balancers: [String: any RemoteShell]) throws {
        try BackendDrain(balancers: balancers, socat: socat).undrain(server)
    }
}
