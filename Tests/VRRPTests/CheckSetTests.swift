import Testing
@testable import VRRPConfig
@testable import VRRPDaemon

/// The `track:` section of a one-instance configuration, parsed as the daemon parses it; `yaml`
/// is the section's body, unindented.
func trackConfig(_ yaml: String) throws -> TrackConfig {
    let body = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n")
    let text = """
        instances:
          - name: api
            interface: eth0
            vrid: 51
            vips: [198.51.100.62/26]
            track:
        \(body)
        """
    return try #require(try DaemonConfig.parse(text, file: "vrrpd.yaml").instances.first).track
}

/// An instance's tracked checks as one value per check: order, names, weights, hysteresis, details.
@Suite struct CheckSetTests {
    func track() throws -> TrackConfig {
        try trackConfig("""
            tcp:
              - {address: 127.0.0.1:6443, weight: -20}
            http:
              - {url: http://127.0.0.1:8404/healthz, rise: 2, fall: 2}
            scripts:
              - {name: apiserver, command: /bin/true, weight: 10}
            """)
    }

    @Test func checksFollowTheCheckersOrderWithTheirNamesAndWeights() throws {
        let set = CheckSet(try track())
        #expect(set.checks.map(\.name) == ["script:apiserver", "http:http://127.0.0.1:8404/healthz", "tcp:127.0.0.1:6443"])
        #expect(set.checks.map(\.weight) == [10, 0, -20])
        #expect(set.checks.allSatisfy { !$0.isGood && $0.detail == "no result yet" })
    }

    @Test func aResultChangesOnlyItsCheckAndSaysWhenTheStatusFlipped() throws {
        var set = CheckSet(try track())
        // The first result decides at once (a check counts as failing until then).
        let first = set.record(index: 1, ok: true, detail: "200")
        #expect(first?.name == "http:http://127.0.0.1:8404/healthz")
        #expect(set.checks[1].isGood && set.checks[1].detail == "200")
        #expect(!set.checks[0].isGood && set.checks[0].detail == "no result yet")
        // fall 2: one failure keeps it good (detail recorded), the second flips it.
        #expect(set.record(index: 1, ok: false, detail: "503") == nil)
        #expect(set.checks[1].isGood && set.checks[1].detail == "503")
        #expect(set.record(index: 1, ok: false, detail: "503")?.isGood == false)
        #expect(set.states.map(\.good) == [false, false, false])
    }

    @Test func aResultFromAnOlderGenerationOfCheckersIsIgnored() throws {
        var set = CheckSet(try track())
        let before = set
        #expect(set.record(index: 7, ok: true, detail: "late") == nil)
        #expect(set == before)
    }
}
