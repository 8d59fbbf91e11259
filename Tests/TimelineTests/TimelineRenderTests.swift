import Foundation
import Testing
import Timeline
import TestSupport

/// The pictures render with a standard SVG converter (rsvg-convert from librsvg2-bin, installed
/// by scripts/setup): a non-empty PNG of the size the SVG declares.
enum RSVGConvert {
    static let path: String? = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite(.enabled(if: RSVGConvert.path != nil, "rsvg-convert not found (apt-get install librsvg2-bin, or scripts/setup): render test skipped"))
struct TimelineRenderTests {
    @Test(arguments: TimelineFixtures.all.map(\.name))
    func rendersToAPNGOfTheDeclaredSize(_ name: String) throws {
        let picture = try #require(TimelineFixtures.all.first { $0.name == name }).picture
        let text = TimelineSVG.render(picture)
        let declared = try SVGInspection.parse(text).root
        let width = try #require(declared["width"].flatMap { Double($0) }), height = try #require(declared["height"].flatMap { Double($0) })

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("timeline-render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let svg = directory.appendingPathComponent("\(name).svg"), png = directory.appendingPathComponent("\(name).png")
        try text.write(to: svg, atomically: true, encoding: .utf8)

        let result = try ProcessRunner.run(try #require(RSVGConvert.path), ["--format", "png", "--output", png.path, svg.path])
        let stderr = result.stderr
        try #require(result.status == 0, "rsvg-convert: \(stderr)")
        #expect(stderr.isEmpty, "rsvg-convert warned: \(stderr)")

        let bytes = [UInt8](try Data(contentsOf: png))
        try #require(bytes.count > 33, "PNG of \(bytes.count) bytes")
        #expect(Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR")
        let pngWidth = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, pngHeight = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(pngWidth == Int(width.rounded(.up)))
        #expect(pngHeight == Int(height.rounded(.up)))
    }
}
