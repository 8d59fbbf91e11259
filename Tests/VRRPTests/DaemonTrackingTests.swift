import TextFormats
import Testing
@testable import VRRPConfig
@testable import VRRPDaemon

@Suite struct DaemonTrackingTests {
    @Test func aCheckFailsBeforeItsFirstResult() {
        let h = CheckHysteresis(rise: 2, fall: 2)
        #expect(!h.isGood)
        #expect(!h.hasResult)
    }

    @Test func theFirstResultDecidesAtOnce() {
        var h = CheckHysteresis(rise: 3, fall: 3)
        let changed1 = h.record(success: true)
        #expect(changed1)
        #expect(h.isGood)
    }

    @Test func fallConsecutiveFailuresAreNeededToFail() {
        var h = CheckHysteresis(rise: 1, fall: 3)
        _ = h.record(success: true)
        let changed2 = h.record(success: false)
        #expect(!changed2)
        let changed3 = h.record(success: false)
        #expect(!changed3)
        #expect(h.isGood)
        let changed4 = h.record(success: false)
        #expect(changed4)
        #expect(!h.isGood)
    }

    @Test func aSuccessBetweenFailuresRestartsTheCount() {
        var h = CheckHysteresis(rise: 1, fall: 2)
        _ = h.record(success: true)
        _ = h.record(success: false)
        _ = h.record(success: true)
        _ = h.record(success: false)
        #expect(h.isGood)
    }

    @Test func riseConsecutiveSuccessesAreNeededToRecover() {
        var h = CheckHysteresis(rise: 2, fall: 1)
        _ = h.record(success: false)
        let changed5 = h.record(success: true)
        #expect(!changed5)
        let changed6 = h.record(success: true)
        #expect(changed6)
        #expect(h.isGood)
    }

    @Test func aFailingWeightZeroCheckMeansFault() {
        let t = TrackedPriority.compute(base: 200, checks: [("api", false, 0)], downInterfaces: [])
        #expect(t.fault)
        #expect(t.reason.contains("api"))
    }

    @Test func aDownTrackedInterfaceMeansFault() {
        let t = TrackedPriority.compute(base: 200, checks: [("api", true, 0)], downInterfaces: ["eth1"])
        #expect(t.fault)
        #expect(t.reason.contains("eth1"))
    }

    @Test func positiveWeightsAddWhileGoodAndNegativeSubtractWhileFailing() {
        let t = TrackedPriority.compute(base: 100, checks: [("a", true, 10), ("b", false, -30), ("c", false, 5), ("d", true, -7)],
                                        downInterfaces: [])
        #expect(!t.fault)
        #expect(t.priority == 80)
    }

    @Test func weightedPriorityStaysWithin1And254() {
        #expect(TrackedPriority.compute(base: 250, checks: [("a", true, 50)], downInterfaces: []).priority == 254)
        #expect(TrackedPriority.compute(base: 10, checks: [("a", false, -50)], downInterfaces: []).priority == 1)
    }

    @Test func theAddressOwnerIgnoresWeightsButNotFault() {
        #expect(TrackedPriority.compute(base: 255, checks: [("a", false, -50)], downInterfaces: []).priority == 255)
        #expect(TrackedPriority.compute(base: 255, checks: [("a", false, 0)], downInterfaces: []).fault)
    }
}

@Suite struct DaemonOutputTests {
    @Test func jsonEscapesQuotesBackslashesAndControlCharacters() {
        #expect(JSONValue.string("a\"b\\c\n\u{1}").pretty == #""a\"b\\c\n\u0001""#)
    }

    @Test func jsonObjectKeepsFieldOrder() {
        let j = JSONValue.object([("b", .int(1)), ("a", .array([.bool(true), .null]))])
        #expect(j.compact == #"{"b":1,"a":[true,null]}"#)
    }

    @Test func logValuesWithSpacesAreQuoted() {
        #expect(Log.quote("plain") == "plain")
        #expect(Log.quote("two words") == "\"two words\"")
        #expect(Log.quote("say \"x\"") == "\"say \\\"x\\\"\"")
        #expect(Log.quote("") == "\"\"")
    }

    @Test func httpsURLDefaultsToPort443AndKeepsThePath() throws {
        let u = try #require(parseURL("https://127.0.0.1/readyz?verbose"))
        #expect(u.tls)
        #expect(u.target.port == 443)
        #expect(u.path == "/readyz?verbose")
    }

    @Test func urlWithoutPathAsksForRoot() throws {
        let u = try #require(parseURL("http://localhost:8080"))
        #expect(u.path == "/")
        #expect(u.target.description == "127.0.0.1:8080")
    }

    @Test func urlWithANameIsRefused() {
        #expect(parseURL("http://api.example:6443/") == nil)
        #expect(parseURL("ftp://127.0.0.1/") == nil)
    }
}
