/// libssh2 reports a connection that died under a running command as a bare "transport read" or
/// a socket error; the operator needs to know the host went away, not libssh2's wording.
enum ConnectionLoss {
    static let markers = ["transport read", "Failed getting banner", "socket disconnect", "Unable to send", "Socket recv", "Error waiting on socket", "Connection reset",
                          // libssh2 1.10 when the socket closed between two commands (node killed)
                          "cannot open an SSH channel: Unexpected error"]

    static func explain(_ message: String) -> String {
        guard markers.contains(where: { message.localizedCaseInsensitiveContains($0) }) else { return message }
        return message + " — the SSH connection was lost (host down or rebooted, or the network cut); when it is back, re-run to continue"
    }
}
