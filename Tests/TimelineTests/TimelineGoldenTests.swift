import Foundation
import Testing
import Timeline

/// The pictures of three fixed probe logs, compared with committed files character for character.
/// After an intended change of the drawing, regenerate them and look at them before committing:
///
///     TIMELINE_GOLDEN=update swift test --skip-build --filter TimelineGoldenTests
///     rsvg-convert -o /tmp/g.png Tests/TimelineTests/Fixtures/graceful-round.svg
@Suite struct TimelineGoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let updating = ProcessInfo.processInfo.environment["TIMELINE_GOLDEN"] == "update"

    @Test(arguments: TimelineFixtures.all.map(\.name))
    func pictureMatchesItsGoldenFile(_ name: String) throws {
        let picture = try #require(TimelineFixtures.all.first { $0.name == name }).picture
        let rendered = TimelineSVG.render(picture)
        let file = Self.fixtures.appendingPathComponent("\(name).svg")
        if Self.updating {
            try rendered.write(to: file, atomically: true, encoding: .utf8)
            print("TimelineGoldenTests: rewrote \(file.path)")
        }
        let golden = try String(contentsOf: file, encoding: .utf8)
        if rendered != golden {
            let renderedLines = rendered.split(separator: "\n", omittingEmptySubsequences: false)
            let goldenLines = golden.split(separator: "\n", omittingEmptySubsequences: false)
            let first = Array(zip(renderedLines, goldenLines)).firstIndex { $0 != $1 } ?? min(renderedLines.count, goldenLines.count)
            Issue.record("""
                \(name).svg differs from the rendering, first at line \(first + 1) \
                (\(renderedLines.count) lines rendered, \(goldenLines.count) in the file); \
                if the change is intended: TIMELINE_GOLDEN=update swift test --filter TimelineGoldenTests
                rendered: \(first < renderedLines.count ? String(renderedLines[first].prefix(300)) : "<end>")
                golden:   \(first < goldenLines.count ? String(goldenLines[first].prefix(300)) : "<end>")
                """)
        }
    }
}
