import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// What a test reads back from a rendered picture, through Foundation's XML parser: if the text
/// is not well-formed XML the parse fails and so does the test.
struct SVGInspection {
    /// Every probe mark: the row it sits in ("ok" or a failure class), its `data-failure`, and its
    /// `<title>` text (failures only).
    struct Mark: Equatable {
        var row: String
        var kind: String?
        var failure: String?
        var title: String?
    }

    var marks: [Mark] = []
    var root: [String: String] = [:]
    /// Text content of every `<text>` and `<title>`, unescaped by the parser.
    var texts: [String] = []
    var elements: Set<String> = []
    /// Markers of the whole-run plots, and of the detail plots.
    var markers: [String] = []
    var detailMarkers: [String] = []
    /// Where each whole-run marker's line is drawn (its x), by kind.
    var markerLines: [(kind: String, x: String)] = []
    /// Probe marks of the detail plots (rows named `data-detail-probes`).
    var detailMarks = 0

    static func parse(_ svg: String) throws -> SVGInspection {
        let delegate = Delegate()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = delegate
        let parsed = parser.parse()
        try #require(parsed, "not well-formed XML: \(parser.parserError.map(String.init(describing:)) ?? "?") at line \(parser.lineNumber)")
        return delegate.result
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        var result = SVGInspection()
        /// Open elements with their attributes.
        var stack: [(name: String, attributes: [String: String])] = []
        var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            result.elements.insert(name)
            if name == "svg" && stack.isEmpty { result.root = attributes }
            if name == "use", let row = stack.last(where: { $0.attributes["data-probes"] != nil }) {
                result.marks.append(Mark(row: row.attributes["data-probes"]!, kind: row.attributes["data-kind"], failure: attributes["data-failure"]))
            }
            let plot = stack.last { $0.attributes["data-plot"] != nil }?.attributes["data-plot"]
            if let marker = attributes["data-marker"] {
                if plot == "detail" { result.detailMarkers.append(marker) } else { result.markers.append(marker) }
            }
            if name == "path", plot == "run", let marker = stack.last?.attributes["data-marker"], let d = attributes["d"] {
                result.markerLines.append((marker, String(d.dropFirst().prefix { $0 != " " })))
            }
            if name == "use", stack.last?.attributes["data-detail-probes"] != nil { result.detailMarks += 1 }
            stack.append((name, attributes))
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
            if name == "title" || name == "text" { result.texts.append(text) }
            if name == "title", stack.last?.name == "use", !result.marks.isEmpty { result.marks[result.marks.count - 1].title = text }
            text = ""
        }
    }
}
