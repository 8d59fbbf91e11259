import Foundation
import Testing
@testable import Timeline

/// What every picture must hold, read back through an XML parser: one mark per probe, every
/// failure in its row with its reason, markers, legend, escaped text.
@Suite struct TimelineStructureTests {
    @Test(arguments: TimelineFixtures.all.map(\.name))
    func everyProbeIsOneMarkAndEveryFailureCarriesItsReason(_ name: String) throws {
        let picture = try #require(TimelineFixtures.all.first { $0.name == name }).picture
        let svg = try SVGInspection.parse(TimelineSVG.render(picture))
        let probes = picture.lanes.flatMap(\.probes)
        #expect(svg.marks.count == probes.count)

        // Failures: the same multiset of (class, title) as the input, in the row of their class.
        var expected: [String] = []
        for probe in probes {
            guard case .failure(let failure, let reason) = probe.outcome else { continue }
            let offset = TimelineText.offset(TimelineText.milliseconds(probe.at))
            expected.append("\(failure.rawValue)|\(offset) \(probe.kind): \(reason)")
        }
        let failed = svg.marks.filter { $0.row != "ok" }
        #expect(failed.allSatisfy { $0.failure == $0.row })
        #expect(failed.map { "\($0.failure ?? "-")|\($0.title ?? "-")" }.sorted() == expected.sorted())
        #expect(!expected.isEmpty, "each fixture has failures to find")

        // Successes: one per probe that answered, in the row of its kind.
        for kind in Set(probes.map(\.kind)) {
            let answered = probes.count { $0.kind == kind && $0.outcome == .success }
            #expect(svg.marks.count { $0.row == "ok" && $0.kind == kind } == answered, "\(kind)")
        }
        let markers = picture.lanes.flatMap(\.markers).map(\.kind.rawValue)
        #expect(svg.markers.sorted() == markers.sorted())
    }

    @Test func selfContainedNoScriptsNoExternalReferences() throws {
        for (name, picture) in TimelineFixtures.all {
            let text = TimelineSVG.render(picture)
            let svg = try SVGInspection.parse(text)
            #expect(!svg.elements.contains("script"), "\(name)")
            #expect(!svg.elements.contains("image") && !svg.elements.contains("foreignObject") && !svg.elements.contains("style"), "\(name)")
            // Every reference is to a symbol of the document itself.
            let hrefs = text.components(separatedBy: "xlink:href=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
            #expect(hrefs.allSatisfy { $0.hasPrefix("#p-") }, "\(name)")
            #expect(!text.contains("http://") || text.components(separatedBy: "http://").count == 3, "only the two namespace URIs: \(name)")
            #expect(svg.root["font-family"] == "sans-serif")
            #expect(!text.contains("@font-face") && !text.contains("url("), "\(name)")
        }
    }

    @Test func textFromOutsideIsEscapedAndReadsBackUnchanged() throws {
        let hostile = "node<1> & \"db\" 'x'\u{1}"
        let picture = TimelinePicture(
            title: "t & <t>", subtitle: "s\"s",
            lanes: [TimelineLane(label: hostile, probes: [TimelineProbe(at: .milliseconds(5), kind: "tcp<x>", outcome: .failure(.other, reason: "</title><script>x</script>"))],
                                 markers: [TimelineMarker(at: .zero, kind: .fault, label: hostile)],
                                 steps: [TimelineStep(name: "a&b", host: hostile, start: .zero, end: .milliseconds(10))])])
        let text = TimelineSVG.render(picture)
        let svg = try SVGInspection.parse(text)
        #expect(!svg.elements.contains("script"))
        #expect(svg.texts.contains("node<1> & \"db\" 'x'\u{FFFD}"))
        #expect(svg.texts.contains("t & <t>"))
        #expect(svg.marks.first?.title == "+5.0 ms tcp<x>: </title><script>x</script>")
        #expect(svg.texts.contains("a&b (node<1> & \"db\" 'x'\u{FFFD})"))
    }

    @Test func aLaneWithoutProbesStillSaysWhyAndAnEmptyPictureParses() throws {
        let failed = TimelineLane(label: "round 2: graceful failure of node1", note: "no probe log: no fault ran")
        let svg = try SVGInspection.parse(TimelineSVG.render(TimelinePicture(title: "t", lanes: [TimelineFixtures.graceful.lanes[0], failed])))
        #expect(svg.texts.contains("no probe log: no fault ran"))
        #expect(svg.marks.count == TimelineFixtures.graceful.lanes[0].probes.count)
        let empty = try SVGInspection.parse(TimelineSVG.render(TimelinePicture(title: "nothing", lanes: [])))
        #expect(empty.marks.isEmpty)
        #expect(empty.texts.contains("nothing"))
    }

    @Test func aNoteTooLongForThePageIsCutAndKeptWholeInATitle() throws {
        let error = "round failed: could not inject the fault on node1: " + String(repeating: "Job for clusterup-vrrpd.service failed. ", count: 12)
        let lane = TimelineLane(label: "round 1: network failure of node1", note: error)
        let svg = try SVGInspection.parse(TimelineSVG.render(TimelinePicture(title: "t", lanes: [lane])))
        #expect(svg.texts.contains(error))
        let shown = try #require(svg.texts.first { $0.hasPrefix("round failed: could not inject") && $0 != error })
        #expect(shown.hasSuffix("\u{2026}"))
        #expect(Double(shown.count) * 11 * 0.56 <= 928)
    }

    @Test func roundsShareOneAxisAlignedAtTheFault() throws {
        // Two lanes whose probes cover different stretches still draw offset 0 at the same x.
        let svg = try SVGInspection.parse(TimelineSVG.render(TimelineFixtures.graceful))
        let faults = svg.markerLines.filter { $0.kind == "fault" }.map(\.x)
        #expect(faults.count == 2)
        #expect(Set(faults).count == 1, "\(faults)")
    }

    @Test func theDetailDrawsTheWindowAgainAndOnlyIt() throws {
        let picture = TimelineFixtures.graceful
        let text = TimelineSVG.render(picture)
        let svg = try SVGInspection.parse(text)
        let window = try #require(picture.detail)
        let inside = picture.lanes.flatMap(\.probes).filter { window.contains($0.at) }
        #expect(svg.detailMarks == inside.count)
        #expect(inside.count < picture.lanes.flatMap(\.probes).count)
        let markersInside = picture.lanes.flatMap(\.markers).filter { window.contains($0.at) }.map(\.kind.rawValue)
        #expect(svg.detailMarkers.sorted() == markersInside.sorted())
        #expect(svg.texts.filter { $0 == "detail: \u{2212}50.0 ms to +150.0 ms" }.count == picture.lanes.count)
        // Without a detail there is none.
        let plain = try SVGInspection.parse(TimelineSVG.render(TimelineFixtures.networkWithFailback))
        #expect(plain.detailMarks == 0 && plain.detailMarkers.isEmpty)
    }

    @Test func markersCloseInTimeGetTheirOwnLabelRows() throws {
        let plot = Plot(left: 100, right: 900, axis: TimeAxis(start: -100, end: 2000), window: nil)
        let markers = [
            TimelineMarker(at: .zero, kind: .fault, label: "graceful fault on node1"),
            TimelineMarker(at: .milliseconds(30), kind: .takeover, label: "node2 holds the VIP"),
            TimelineMarker(at: .milliseconds(1000), kind: .restore, label: "restore node1"),
            TimelineMarker(at: .milliseconds(1100), kind: .failback, label: "VIP back on node1"),
        ]
        let placed = Renderer.placeMarkers(markers, plot: plot, limit: 956)
        #expect(placed.row[0] != placed.row[1])
        #expect(placed.row[2] == 0)
        #expect(placed.row[3] != placed.row[2])
        #expect(placed.rows == 2)
    }
}
