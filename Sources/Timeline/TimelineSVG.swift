/// Draws a `TimelinePicture` as one self-contained SVG document: no scripts, no external fonts or
/// files, presentation attributes only, so it opens the same in a browser, an image viewer and
/// `rsvg-convert`. Lanes are small multiples on one shared time axis, aligned at offset 0.
///
/// Every probe is one `<use>` mark inside a row group carrying `data-probes` (the row: "ok" or a
/// failure class); a failed probe also carries `data-failure` and a `<title>` with its offset and
/// reason, so a reader can hover it and a test can count it.
public enum TimelineSVG {
    public static func render(_ picture: TimelinePicture) -> String {
        Renderer(picture).document()
    }

    /// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), each
    /// failure class also with its own shape and row, so the picture reads in greyscale too.
    static let symbols: [(id: String, svg: String)] = [
        ("p-ok", ##"<path id="p-ok" d="M0-6V6" stroke="#009E73" stroke-width="1"/>"##),
        ("p-refused", ##"<rect id="p-refused" x="-3.5" y="-3.5" width="7" height="7" fill="#D55E00" stroke="#000" stroke-width="0.4"/>"##),
        ("p-timeout", ##"<path id="p-timeout" d="M0-4.5L4.5 3.5H-4.5Z" fill="#E69F00" stroke="#000" stroke-width="0.4"/>"##),
        ("p-reset", ##"<path id="p-reset" d="M0-4.5L4.5 0L0 4.5L-4.5 0Z" fill="#CC79A7" stroke="#000" stroke-width="0.4"/>"##),
        ("p-tls", ##"<circle id="p-tls" r="3.8" fill="#0072B2" stroke="#000" stroke-width="0.4"/>"##),
        ("p-http", ##"<path id="p-http" d="M-4.5-3.5H4.5L0 4.5Z" fill="#56B4E9" stroke="#000" stroke-width="0.4"/>"##),
        ("p-other", ##"<path id="p-other" d="M-3.5-3.5L3.5 3.5M-3.5 3.5L3.5-3.5" stroke="#000" stroke-width="1.6"/>"##),
    ]

    static func symbol(_ failure: ProbeFailure?) -> String {
        "p-" + (failure?.rawValue ?? "ok")
    }

    /// Markers are black or grey and told apart by their dashes and labels: colour is the probes'.
    static func markerStyle(_ kind: MarkerKind) -> String {
        switch kind {
        case .fault: ##"stroke="#000" stroke-width="1.6""##
        case .stepStart: ##"stroke="#000" stroke-width="1""##
        case .detection: ##"stroke="#444" stroke-width="1" stroke-dasharray="4 3""##
        case .takeover: ##"stroke="#000" stroke-width="1.2" stroke-dasharray="6 3""##
        case .restore: ##"stroke="#444" stroke-width="1" stroke-dasharray="2 2""##
        case .failback: ##"stroke="#000" stroke-width="1.2" stroke-dasharray="8 2 2 2""##
        }
    }
}

/// The layout of one picture. Every lane has the same rows, so the small multiples compare.
struct Renderer {
    let picture: TimelinePicture
    let width = 960.0
    let left = 104.0
    let right = 936.0
    let axis: TimeAxis
    /// Probe kinds in order of appearance: one row of successes each.
    let kinds: [String]
    /// Failure classes that occur anywhere: one row each, in a fixed order.
    let failures: [ProbeFailure]
    let markerRows: Int
    let hasSteps: Bool
    let hasSpans: Bool

    static let markerRowHeight = 12.0
    static let markerFont = 10.0
    static let maxMarkerRows = 4

    init(_ picture: TimelinePicture) {
        self.picture = picture
        var kinds: [String] = []
        var seen = Set<ProbeFailure>()
        var times: [Double] = []
        for lane in picture.lanes {
            for probe in lane.probes {
                if !kinds.contains(probe.kind) { kinds.append(probe.kind) }
                if case .failure(let failure, _) = probe.outcome { seen.insert(failure) }
                times.append(TimelineText.milliseconds(probe.at))
            }
            times += lane.markers.map { TimelineText.milliseconds($0.at) }
            times += lane.steps.flatMap { [TimelineText.milliseconds($0.start), TimelineText.milliseconds($0.end)] }
            times += lane.spans.flatMap { [TimelineText.milliseconds($0.start), TimelineText.milliseconds($0.end)] }
        }
        self.kinds = kinds
        failures = ProbeFailure.allCases.filter(seen.contains)
        let low = times.min() ?? 0, high = times.max() ?? 1000
        let pad = max((high - low) * 0.02, 1)
        axis = TimeAxis(start: low - pad, end: high + pad)
        hasSteps = picture.lanes.contains { !$0.steps.isEmpty }
        hasSpans = picture.lanes.contains { !$0.spans.isEmpty }
        // Placed once per lane here and again when drawn: the layout is cheap and stays one function.
        let plot = (left: left, right: right, axis: axis), limit = width - 4
        markerRows = picture.lanes.map { Self.placeMarkers($0.markers, plot: plot, limit: limit).rows }.max() ?? 0
    }

    func x(_ milliseconds: Double) -> Double {
        left + (milliseconds - axis.start) / (axis.end - axis.start) * (right - left)
    }

    func x(_ duration: Duration) -> Double { x(TimelineText.milliseconds(duration)) }

    // MARK: Lane geometry, from the lane's top.

    var markerTop: Double { 32 }
    var stepTop: Double { markerTop + Double(markerRows) * Self.markerRowHeight + 2 }
    var rowsTop: Double { stepTop + (hasSteps ? 14 : 0) + 2 }
    func kindRowCentre(_ index: Int) -> Double { rowsTop + 8 + Double(index) * 16 }
    func failureRowCentre(_ index: Int) -> Double { rowsTop + Double(kinds.count) * 16 + 6 + Double(index) * 12 }
    var rowsBottom: Double { rowsTop + Double(kinds.count) * 16 + Double(failures.count) * 12 + 2 }
    var axisY: Double { rowsBottom + (hasSpans ? 22 : 0) }
    var laneHeight: Double { axisY + 30 }

    var legendTop: Double { picture.subtitle == nil ? 44 : 62 }
    var lanesTop: Double { legendTop + (picture.figures.isEmpty ? 24 : 40) }
    var height: Double { (lanesTop + Double(picture.lanes.count) * laneHeight + 4).rounded(.up) }

    // MARK: Document

    func document() -> String {
        let h = TimelineText.coordinate(height)
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="\(Int(width))" height="\(h)" viewBox="0 0 \(Int(width)) \(h)" font-family="sans-serif" font-size="11">

            """
        out += "<title>\(TimelineText.escape(picture.title))</title>\n"
        out += "<defs>\n" + TimelineSVG.symbols.map(\.svg).joined(separator: "\n") + "\n</defs>\n"
        out += "<rect width=\"\(Int(width))\" height=\"\(h)\" fill=\"#fff\"/>\n"
        out += "<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">\(TimelineText.escape(picture.title))</text>\n"
        if let subtitle = picture.subtitle {
            out += "<text x=\"16\" y=\"42\" fill=\"#333\">\(TimelineText.escape(subtitle))</text>\n"
        }
        out += legend()
        for (index, lane) in picture.lanes.enumerated() {
            out += self.lane(lane, number: index + 1, top: lanesTop + Double(index) * laneHeight)
        }
        out += "</svg>\n"
        return out
    }

    /// One line of symbols with counts over every lane, and the picture's figures under it.
    func legend() -> String {
        var out = "<g data-legend=\"probes\" transform=\"translate(0,\(TimelineText.coordinate(legendTop)))\">\n"
        var cursor = 16.0
        var items: [(symbol: String, text: String)] = kinds.map { kind in
            let count = picture.lanes.reduce(0) { $0 + $1.probes.count { $0.kind == kind && $0.outcome == .success } }
            return (TimelineSVG.symbol(nil), "\(kind) probe answered (\(count))")
        }
        items += failures.map { failure in
            let count = picture.lanes.reduce(0) { total, lane in
                total + lane.probes.count { if case .failure(failure, _) = $0.outcome { true } else { false } }
            }
            return (TimelineSVG.symbol(failure), "\(failure.title) (\(count))")
        }
        for item in items {
            out += "<use xlink:href=\"#\(item.symbol)\" x=\"\(TimelineText.coordinate(cursor + 5))\" y=\"-4\"/>"
            out += "<text x=\"\(TimelineText.coordinate(cursor + 14))\">\(TimelineText.escape(item.text))</text>\n"
            cursor += 14 + TimelineText.width(item.text, size: 11) + 18
        }
        out += "</g>\n"
        if !picture.figures.isEmpty {
            let text = picture.figures.map { "\($0.name) \($0.value)" }.joined(separator: " · ")
            out += "<text data-legend=\"figures\" x=\"16\" y=\"\(TimelineText.coordinate(legendTop + 16))\">\(TimelineText.escape(text))</text>\n"
        }
        return out
    }

    func lane(_ lane: TimelineLane, number: Int, top: Double) -> String {
        var out = "<g data-lane=\"\(number)\" transform=\"translate(0,\(TimelineText.coordinate(top)))\">\n"
        out += "<text x=\"16\" y=\"12\" font-size=\"12\" font-weight=\"bold\">\(TimelineText.escape(lane.label))</text>\n"
        var line = lane.figures.map { "\($0.name) \($0.value)" }.joined(separator: " · ")
        if let note = lane.note { line += (line.isEmpty ? "" : " · ") + note }
        if !line.isEmpty {
            out += "<text data-figures=\"lane\" x=\"16\" y=\"26\" fill=\"#333\">\(TimelineText.escape(line))</text>\n"
        }
        out += grid()
        out += steps(lane.steps)
        out += rowLabels()
        out += probes(lane.probes)
        out += markers(lane.markers)
        out += spans(lane.spans)
        out += axisLine()
        out += "</g>\n"
        return out
    }

    /// The probe area's frame and a faint line at every tick; a darker one at offset 0.
    func grid() -> String {
        let top = TimelineText.coordinate(rowsTop), bottom = TimelineText.coordinate(rowsBottom)
        var out = "<rect x=\"\(TimelineText.coordinate(left))\" y=\"\(top)\" width=\"\(TimelineText.coordinate(right - left))\" height=\"\(TimelineText.coordinate(rowsBottom - rowsTop))\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"0.6\"/>\n"
        for tick in axis.ticks {
            let colour = tick == 0 ? "#999" : "#e6e6e6"
            out += "<path d=\"M\(TimelineText.coordinate(x(tick))) \(top)V\(bottom)\" stroke=\"\(colour)\" stroke-width=\"0.6\"/>\n"
        }
        return out
    }

    func rowLabels() -> String {
        var out = ""
        for (index, kind) in kinds.enumerated() {
            out += "<text x=\"\(TimelineText.coordinate(left - 6))\" y=\"\(TimelineText.coordinate(kindRowCentre(index) + 3.5))\" text-anchor=\"end\" font-size=\"10\">\(TimelineText.escape(kind)) answered</text>\n"
        }
        for (index, failure) in failures.enumerated() {
            out += "<text x=\"\(TimelineText.coordinate(left - 6))\" y=\"\(TimelineText.coordinate(failureRowCentre(index) + 3.5))\" text-anchor=\"end\" font-size=\"10\">\(failure.title)</text>\n"
        }
        return out
    }

    /// Successes of each kind in their row: where probes failed or none ran, the row is empty.
    func probes(_ probes: [TimelineProbe]) -> String {
        var out = ""
        for (index, kind) in kinds.enumerated() {
            let marks = probes.filter { $0.kind == kind && $0.outcome == .success }
            out += "<g data-probes=\"ok\" data-kind=\"\(TimelineText.escape(kind))\" transform=\"translate(0,\(TimelineText.coordinate(kindRowCentre(index))))\">"
            for probe in marks { out += "<use xlink:href=\"#p-ok\" x=\"\(TimelineText.coordinate(x(probe.at)))\"/>" }
            out += "</g>\n"
        }
        for (index, failure) in failures.enumerated() {
            out += "<g data-probes=\"\(failure.rawValue)\" transform=\"translate(0,\(TimelineText.coordinate(failureRowCentre(index))))\">\n"
            for probe in probes {
                guard case .failure(failure, let reason) = probe.outcome else { continue }
                let when = TimelineText.offset(TimelineText.milliseconds(probe.at))
                out += "<use xlink:href=\"#\(TimelineSVG.symbol(failure))\" x=\"\(TimelineText.coordinate(x(probe.at)))\" data-failure=\"\(failure.rawValue)\">"
                out += "<title>\(when) \(TimelineText.escape(probe.kind)): \(TimelineText.escape(reason))</title></use>\n"
            }
            out += "</g>\n"
        }
        return out
    }

    func steps(_ steps: [TimelineStep]) -> String {
        var out = ""
        for (index, step) in steps.enumerated() {
            let start = x(step.start), end = max(x(step.end), start + 1)
            let fill = index % 2 == 0 ? "#f1f1f1" : "#e3e3e3"
            let text = "\(step.name) (\(step.host))"
            out += "<g data-step=\"\(index + 1)\"><title>\(TimelineText.escape(text)): \(TimelineText.offset(TimelineText.milliseconds(step.start))) to \(TimelineText.offset(TimelineText.milliseconds(step.end)))</title><rect x=\"\(TimelineText.coordinate(start))\" y=\"\(TimelineText.coordinate(stepTop))\" width=\"\(TimelineText.coordinate(end - start))\" height=\"\(TimelineText.coordinate(rowsBottom - stepTop))\" fill=\"\(fill)\"/>"
            out += "<text x=\"\(TimelineText.coordinate(start + 3))\" y=\"\(TimelineText.coordinate(stepTop + 10))\" font-size=\"10\">\(TimelineText.escape(text))</text></g>\n"
        }
        return out
    }

    func markers(_ markers: [TimelineMarker]) -> String {
        let placed = Self.placeMarkers(markers, plot: (left, right, axis), limit: width - 4)
        var out = ""
        for (marker, row) in zip(markers, placed.row) {
            let position = x(marker.at)
            let baseline = markerTop + Double(row + 1) * Self.markerRowHeight - 2
            let text = Self.markerText(marker)
            let anchorEnd = position + 3 + TimelineText.width(text, size: Self.markerFont) > width - 4
            out += "<g data-marker=\"\(marker.kind.rawValue)\"><path d=\"M\(TimelineText.coordinate(position)) \(TimelineText.coordinate(baseline + 2))V\(TimelineText.coordinate(rowsBottom))\" \(TimelineSVG.markerStyle(marker.kind))/>"
            out += "<text x=\"\(TimelineText.coordinate(anchorEnd ? position - 3 : position + 3))\" y=\"\(TimelineText.coordinate(baseline))\" font-size=\"10\"\(anchorEnd ? " text-anchor=\"end\"" : "")>\(TimelineText.escape(text))</text></g>\n"
        }
        return out
    }

    static func markerText(_ marker: TimelineMarker) -> String {
        marker.at == .zero ? marker.label : "\(marker.label) \(TimelineText.offset(TimelineText.milliseconds(marker.at)))"
    }

    /// Labels sit in rows above the probes: each goes into the first row where it does not run
    /// into the previous label, so markers a few milliseconds apart stay readable.
    static func placeMarkers(_ markers: [TimelineMarker], plot: (left: Double, right: Double, axis: TimeAxis), limit: Double) -> (row: [Int], rows: Int) {
        var rowEnds: [Double] = []
        var rows: [Int] = []
        let scale = (plot.right - plot.left) / (plot.axis.end - plot.axis.start)
        for marker in markers.sorted(by: { $0.at < $1.at }) {
            let position = plot.left + (TimelineText.milliseconds(marker.at) - plot.axis.start) * scale
            let span = TimelineText.width(markerText(marker), size: markerFont)
            let start = position + span + 3 > limit ? position - span - 3 : position
            let end = start + span + 3
            let row = rowEnds.firstIndex { $0 + 6 <= start } ?? (rowEnds.count < maxMarkerRows ? rowEnds.count : maxMarkerRows - 1)
            if row == rowEnds.count { rowEnds.append(end) } else { rowEnds[row] = max(rowEnds[row], end) }
            rows.append(row)
        }
        // Rows were assigned in time order; hand them back in the caller's order.
        let order = markers.indices.sorted { markers[$0].at < markers[$1].at }
        var result = Array(repeating: 0, count: markers.count)
        for (sortedIndex, original) in order.enumerated() { result[original] = rows[sortedIndex] }
        return (result, rowEnds.count)
    }

    func spans(_ spans: [TimelineSpan]) -> String {
        var out = ""
        for span in spans {
            let start = x(span.start), end = max(x(span.end), start + 1)
            let top = rowsBottom + 4
            let textWidth = TimelineText.width(span.label, size: 10)
            let centred = end - start > textWidth + 4
            let textX = centred ? (start + end) / 2 : (end + 4 + textWidth > width - 4 ? start - 4 : end + 4)
            let anchor = centred ? " text-anchor=\"middle\"" : (textX < start ? " text-anchor=\"end\"" : "")
            out += "<g data-span=\"\(TimelineText.escape(span.label))\"><path d=\"M\(TimelineText.coordinate(start)) \(TimelineText.coordinate(top))v4H\(TimelineText.coordinate(end))v-4\" fill=\"none\" stroke=\"#000\" stroke-width=\"1\"/>"
            out += "<text x=\"\(TimelineText.coordinate(textX))\" y=\"\(TimelineText.coordinate(top + 13))\" font-size=\"10\"\(anchor)>\(TimelineText.escape(span.label))</text></g>\n"
        }
        return out
    }

    func axisLine() -> String {
        let y = TimelineText.coordinate(axisY)
        var out = "<g data-axis=\"time\"><path d=\"M\(TimelineText.coordinate(left)) \(y)H\(TimelineText.coordinate(right))\" stroke=\"#000\" stroke-width=\"0.8\"/>"
        for tick in axis.ticks {
            let position = TimelineText.coordinate(x(tick))
            out += "<path d=\"M\(position) \(y)v4\" stroke=\"#000\" stroke-width=\"0.8\"/>"
            out += "<text x=\"\(position)\" y=\"\(TimelineText.coordinate(axisY + 14))\" text-anchor=\"middle\" font-size=\"10\">\(axis.label(tick))</text>"
        }
        out += "</g>\n"
        return out
    }
}
