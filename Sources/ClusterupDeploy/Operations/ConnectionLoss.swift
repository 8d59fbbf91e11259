import ClusterupCore
import ClusterupSSH

/// What deploy tells the operator when a host's SSH connection went away under a step: the SSH
/// adapter codes such an error `.connectionLost` (from libssh2's error code and the socket's
/// state), and a re-run continues where the hosts are.
enum ConnectionLoss {
    static func explain(_ error: ClusterupError) -> String {
        guard error.code == .connectionLost else { return error.message }
        return error.message + " — the SSH connection was lost (host down or rebooted, or the network cut); when it is back, re-run to continue"
    }
}
