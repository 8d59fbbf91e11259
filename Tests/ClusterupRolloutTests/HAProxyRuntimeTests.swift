import ClusterupNodes
import ClusterupRollout
import Foundation
import Testing

/// The runtime API's command strings and the parsing of HAProxy's own answers (captured from
/// HAProxy 2.6.12, Debian 12's, with `socat stdio unix-connect:` on its admin socket).
struct HAProxyRuntimeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func fixture(_ name: String) throws -> String {
        try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    @Test func setStateNamesTheBackendAndServer() {
        #expect(HAProxyRuntime.setState("node2", .drain) == "set server kube-apiservers/node2 state drain")
        #expect(HAProxyRuntime.setState("node2", .ready) == "set server kube-apiservers/node2 state ready")
        #expect(HAProxyRuntime.setState("cp-1", .drain, backend: "other") == "set server other/cp-1 state drain")
    }

    @Test func scriptSendsEachCommandOnItsOwnConnectionAfterAMarker() {
        let script = HAProxyRuntime.script(["set server kube-apiservers/node1 state drain", "show stat"], socat: "/usr/bin/socat")
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines == [
            "echo '@@answer 0'; echo 'set server kube-apiservers/node1 state drain' | /usr/bin/socat -t 5 stdio unix-connect:/run/haproxy/admin.sock",
            "echo '@@answer 1'; echo 'show stat' | /usr/bin/socat -t 5 stdio unix-connect:/run/haproxy/admin.sock",
        ])
    }

    @Test func answersAreSplitByMarkerAndAMissingOneIsEmpty() {
        let output = "@@answer 0\n\n@@answer 1\nNo such server.\n\n"
        let answers = HAProxyRuntime.answers(output, count: 3)
        #expect(answers.count == 3)
        #expect(HAProxyRuntime.refusal(answers[0]) == nil)
        #expect(HAProxyRuntime.refusal(answers[1]) == "No such server.")
        #expect(answers[2] == "")
    }

    @Test func refusalsAreHAProxysWords() {
        // What HAProxy 2.6 answered: an accepted `set server` prints an empty line.
        #expect(HAProxyRuntime.refusal("\n") == nil)
        #expect(HAProxyRuntime.refusal("No such server.\n\n") == "No such server.")
        #expect(HAProxyRuntime.refusal("No such backend.\n\n") == "No such backend.")
    }

    @Test func showStatGivesStatusAndSessionsPerServer() throws {
        // node2 was drained (`set server kube-apiservers/node2 state drain`) before `show stat`;
        // the capture has no health checks, so node1 is "no check".
        let stats = try #require(HAProxyRuntime.serverStats(try fixture("haproxy-2.6-show-stat.csv")))
        #expect(Set(stats.keys) == ["node1", "node2"])
        #expect(stats["node2"] == HAProxyRuntime.ServerStat(status: "DRAIN", sessions: 0))
        #expect(stats["node2"]?.inRotation == false)
        #expect(stats["node1"]?.status == "no")
    }

    @Test func sessionsComeFromTheScurColumn() throws {
        let csv = try fixture("haproxy-2.6-show-stat.csv")
        // The same capture with node2's scur (5th column) at 3 and its status UP.
        let edited = csv.split(separator: "\n").map { line -> String in
            guard line.hasPrefix("kube-apiservers,node2,") else { return String(line) }
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[4] = "3"
            fields[17] = "UP"
            return fields.joined(separator: ",")
        }.joined(separator: "\n")
        let stats = try #require(HAProxyRuntime.serverStats(edited))
        #expect(stats["node2"] == HAProxyRuntime.ServerStat(status: "UP", sessions: 3))
        #expect(stats["node2"]?.inRotation == true)
    }

    @Test func anAnswerThatIsNotTheCSVIsNil() {
        #expect(HAProxyRuntime.serverStats("Permission denied\n") == nil)
        #expect(HAProxyRuntime.serverStats("") == nil)
    }
}
