import ClusterupCore
import ClusterupSSH
import Testing
@testable import ClusterupDeploy

/// Deploy's report of a host whose SSH connection went away: told by the error's code, not its words.
@Suite struct ConnectionLossTests {
    @Test func aLostConnectionIsExplainedWithWhatToDo() {
        var error = ClusterupError.remote("reading output of 'systemctl start etcd' failed: transport read", host: "node3")
        error.code = .connectionLost
        #expect(DeploySession.explain(error) == "reading output of 'systemctl start etcd' failed: transport read"
                + " — the SSH connection was lost (host down or rebooted, or the network cut); when it is back, re-run to continue")
    }

    @Test func aFailureThatOnlyReadsLikeOneIsReportedAsItIs() {
        let error = ClusterupError.remote("command 'curl -sf https://127.0.0.1:6443/readyz' exited with status 56: curl: (56) Connection reset by peer",
                                          host: "node1")
        #expect(DeploySession.explain(error) == error.message)
    }

    @Test func theHintFollowsTheExplanation() {
        var error = ClusterupError.remote("cannot open an SSH channel: Unexpected error", host: "node3",
                                          hint: "the connection may have dropped, or sshd's MaxSessions is reached")
        error.code = .connectionLost
        let text = DeploySession.explain(error)
        #expect(text.hasPrefix("cannot open an SSH channel: Unexpected error — the SSH connection was lost"))
        #expect(text.hasSuffix("\n    hint: the connection may have dropped, or sshd's MaxSessions is reached"))
    }
}
