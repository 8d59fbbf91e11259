import Testing
@testable import Timeline

/// Numbers, durations, escaping and the time axis, without Foundation.
@Suite struct TimelineTextTests {
    @Test func fixedRoundsAndKeepsSigns() {
        #expect(TimelineText.fixed(3.14159, 2) == "3.14")
        #expect(TimelineText.fixed(-0.04, 1) == "0.0")
        #expect(TimelineText.fixed(-2.25, 1) == "-2.3" || TimelineText.fixed(-2.25, 1) == "-2.2")
        #expect(TimelineText.fixed(1234.5, 0) == "1235" || TimelineText.fixed(1234.5, 0) == "1234")
        #expect(TimelineText.fixed(7, 3) == "7.000")
        #expect(TimelineText.coordinate(12.0) == "12")
        #expect(TimelineText.coordinate(12.34) == "12.3")
    }

    @Test func durationsInMillisecondsThenSeconds() {
        #expect(TimelineText.duration(35.24) == "35.2 ms")
        #expect(TimelineText.duration(1620) == "1.62 s")
        #expect(TimelineText.offset(35.24) == "+35.2 ms")
        #expect(TimelineText.offset(-300) == "\u{2212}300.0 ms")
        #expect(TimelineText.offset(0.01) == "0 ms")
    }

    @Test func escapingCoversTheXMLSpecialsAndControlCharacters() {
        #expect(TimelineText.escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;")
        #expect(TimelineText.escape("x\u{0}y\u{1B}z\nw") == "x\u{FFFD}y\u{FFFD}z w")
        #expect(TimelineText.escape("node-1 é 漢") == "node-1 é 漢")
    }

    @Test func axisInMillisecondsForShortSpans() {
        let axis = TimeAxis(start: -300, end: 1500)
        #expect(!axis.inSeconds)
        #expect(axis.step == 500)
        #expect(axis.ticks == [0, 500, 1000, 1500])
        #expect(axis.ticks.map(axis.label) == ["0", "500 ms", "1000 ms", "1500 ms"])
    }

    @Test func axisInSecondsForLongSpans() {
        let axis = TimeAxis(start: -500, end: 11_700)
        #expect(axis.inSeconds)
        #expect(axis.step == 2000)
        #expect(axis.ticks.map(axis.label) == ["0", "2 s", "4 s", "6 s", "8 s", "10 s"])
        let fine = TimeAxis(start: -300, end: 3100)
        #expect(fine.step == 500)
        #expect(fine.ticks.map(fine.label) == ["0", "0.5 s", "1.0 s", "1.5 s", "2.0 s", "2.5 s", "3.0 s"])
    }

    @Test func axisOfAFewMillisecondsAndBeforeTheFault() {
        let axis = TimeAxis(start: -12, end: 7)
        #expect(axis.step == 5)
        #expect(axis.ticks.map(axis.label) == ["\u{2212}10 ms", "\u{2212}5 ms", "0", "5 ms"])
    }
}
