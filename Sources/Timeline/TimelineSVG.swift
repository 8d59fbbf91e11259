/// Draws a `TimelinePicture` as one self-contained SVG document: no scripts, no external fonts or
/// files, presentation attributes only, so it opens the same in a browser, an image viewer and
/// `rsvg-convert`. Lanes are small multiples on one shared time axis, aligned at offset 0.
///
/// Every probe is one `<use>` mark inside a row group carrying `data-probes` (the row: "ok" or a
/// failure class); a failed probe also carries `data-failure` and a `<title>` with its offset and
/// reason, so a reader can hover it and a test can count it. The detail plot, when there is one,
/// draws its window's probes again in rows named `data-detail-probes`.
public enum TimelineSVG {
    public static func render(_ picture: TimelinePicture) -> String {
        Renderer(picture).document()
    }

    /// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), each
    /// failure class also with its own shape and row, so the picture reads in greyscale too.
    /// A failure is a tick in its class's colour, so that runs of failures show their density as
    /// the successes do, capped by the class's shape, so that a lone failure stands out.
    static let symbols: [String] = [
        ##"<path id="p-ok" d="M0-6V6" stroke="#009E73" stroke-width="1"/>"##,
        failure("refused", "#D55E00", ##"<rect x="-3.5" y="-6" width="7" height="7""##),
        failure("timeout", "#E69F00", ##"<path d="M0-6.5L4 0.5H-4Z""##),
        failure("reset", "#CC79A7", ##"<path d="M0-6.5L4-2.5L0 1.5L-4-2.5Z""##),
        failure("tls", "#0072B2", ##"<circle cy="-2.5" r="3.6""##),
        failure("http", "#56B4E9", ##"<path d="M-4-6H4L0 1Z""##),
        ##"<g id="p-other"><path d="M0 2V7" stroke="#000" stroke-width="1"/><path d="M-3-5.5L3 0.5M-3 0.5L3-5.5" stroke="#000" stroke-width="1.6"/></g>"##,
    ]

    static func failure(_ name: String, _ colour: String, _ shape: String) -> String {
        ##"<g id="p-\##(name)"><path d="M0 2V7" stroke="\##(colour)" stroke-width="1"/>\##(shape) fill="\##(colour)" stroke="#000" stroke-width="0.4"/></g>"##
    }

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

/// One time axis laid onto the page: the whole run, or the detail window.
struct Plot {
    let left: Double
    let right: Double
    let axis: TimeAxis
    /// The detail draws only what lies in this window (ms); nil for the whole run.
    let window: ClosedRange<Double>?

    func x(_ milliseconds: Double) -> Double {
        left + (milliseconds - axis.start) / (axis.end - axis.start) * (right - left)
    }

    func x(_ duration: Duration) -> Double { x(TimelineText.milliseconds(duration)) }

    func shows(_ duration: Duration) -> Bool {
        window.map { $0.contains(TimelineText.milliseconds(duration)) } ?? true
    }

    /// A stretch as page coordinates, cut to the window; nil when it lies outside.
    func clip(_ start: Duration, _ end: Duration) -> (start: Double, end: Double)? {
        var low = TimelineText.milliseconds(start), high = TimelineText.milliseconds(end)
        if let window {
            guard high >= window.lowerBound && low <= window.upperBound else { return nil }
            low = max(low, window.lowerBound)
            high = min(high, window.upperBound)
        }
        return (x(low), max(x(high), x(low) + 1))
    }
}

/// The layout of one picture. Every lane has the same rows, so the small multiples compare.
struct Renderer {
    let picture: TimelinePicture
    let width = 960.0
    let left = 104.0
    let right = 936.0
    let full: Plot
    let detail: Plot?
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
        full = Plot(left: left, right: right, axis: TimeAxis(start: low - pad, end: high + pad), window: nil)
        let (plotLeft, plotRight) = (left, right)
        detail = picture.detail.map { window in
            let range = TimelineText.milliseconds(window.lowerBound)...TimelineText.milliseconds(window.upperBound)
            return Plot(left: plotLeft, right: plotRight, axis: TimeAxis(start: range.lowerBound, end: range.upperBound), window: range)
        }
        hasSteps = picture.lanes.contains { !$0.steps.isEmpty }
        hasSpans = picture.lanes.contains { !$0.spans.isEmpty }
        // Placed here for the height and again when drawn: the placement is cheap and stays one function.
        let plots = [full] + (detail.map { [$0] } ?? []), limit = width - 4
        markerRows = plots.flatMap { plot in
            picture.lanes.map { Self.placeMarkers($0.markers.filter { plot.shows($0.at) }, plot: plot, limit: limit).rows }
        }.max() ?? 0
    }

    // MARK: Geometry of a plot section, from its top.

    var stepTop: Double { Double(markerRows) * Self.markerRowHeight + 2 }
    var rowsTop: Double { stepTop + (hasSteps ? 14 : 0) + 2 }
    func kindRowCentre(_ index: Int) -> Double { rowsTop + 8 + Double(index) * 16 }
    func failureRowCentre(_ index: Int) -> Double { rowsTop + Double(kinds.count) * 16 + 8 + Double(index) * 16 }
    var rowsBottom: Double { rowsTop + Double(kinds.count) * 16 + Double(failures.count) * 16 + 2 }
    var axisY: Double { rowsBottom + (hasSpans ? 22 : 0) }
    var sectionHeight: Double { axisY + 18 }

    /// A lane: its label and figures, the whole run, and the detail under it with a caption.
    let sectionTop = 32.0
    var detailTop: Double { sectionTop + sectionHeight + 16 }
    var laneHeight: Double { (detail == nil ? sectionTop + sectionHeight : detailTop + sectionHeight) + 12 }

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
        out += "<defs>\n" + TimelineSVG.symbols.joined(separator: "\n") + "\n</defs>\n"
        out += "<rect width=\"\(Int(width))\" height=\"\(h)\" fill=\"#fff\"/>\n"
        out += line(picture.title, y: 24, size: 16, attributes: " font-size=\"16\" font-weight=\"bold\"")
        if let subtitle = picture.subtitle {
            out += line(subtitle, y: 42, attributes: " fill=\"#333\"")
        }
        out += legend()
        for (index, lane) in picture.lanes.enumerated() {
            out += self.lane(lane, number: index + 1, top: lanesTop + Double(index) * laneHeight)
        }
        out += "</svg>\n"
        return out
    }

    /// A line of text across the page from the left margin. Text too long for the page (a remote
    /// error in a lane's note) is cut with an ellipsis and kept whole in a `<title>`.
    func line(_ text: String, y: Double, size: Double = 11, attributes: String) -> String {
        let available = width - 32
        let element = { (shown: String) in
            "<text x=\"16\" y=\"\(TimelineText.coordinate(y))\"\(attributes)>\(TimelineText.escape(shown))</text>"
        }
        guard TimelineText.width(text, size: size) > available else { return element(text) + "\n" }
        let keep = max(1, Int(available / (size * 0.56)) - 1)
        return "<g><title>\(TimelineText.escape(text))</title>" + element(String(text.prefix(keep)) + "\u{2026}") + "</g>\n"
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
            out += "<use xlink:href=\"#\(item.symbol)\" x=\"\(TimelineText.coordinate(cursor + 5))\" y=\"-3\"/>"
            out += "<text x=\"\(TimelineText.coordinate(cursor + 14))\">\(TimelineText.escape(item.text))</text>\n"
            cursor += 14 + TimelineText.width(item.text, size: 11) + 18
        }
        out += "</g>\n"
        if !picture.figures.isEmpty {
            let text = picture.figures.map { "\($0.name) \($0.value)" }.joined(separator: " · ")
            out += line(text, y: legendTop + 16, attributes: " data-legend=\"figures\"")
        }
        return out
    }

    func lane(_ lane: TimelineLane, number: Int, top: Double) -> String {
        var out = "<g data-lane=\"\(number)\" transform=\"translate(0,\(TimelineText.coordinate(top)))\">\n"
        out += self.line(lane.label, y: 12, size: 12, attributes: " font-size=\"12\" font-weight=\"bold\"")
        var line = lane.figures.map { "\($0.name) \($0.value)" }.joined(separator: " · ")
        if let note = lane.note { line += (line.isEmpty ? "" : " · ") + note }
        if !line.isEmpty {
            out += self.line(line, y: 26, attributes: " data-figures=\"lane\" fill=\"#333\"")
        }
        out += section(lane, plot: full, top: sectionTop, rows: "data-probes")
        if let detail, let window = detail.window {
            let caption = "detail: \(TimelineText.offset(window.lowerBound)) to \(TimelineText.offset(window.upperBound))"
            out += "<text x=\"\(TimelineText.coordinate(left))\" y=\"\(TimelineText.coordinate(detailTop - 4))\" font-size=\"10\" font-style=\"italic\" fill=\"#333\">\(caption)</text>\n"
            // Its rows are named apart: the picture holds one mark per probe in `data-probes` rows.
            out += section(lane, plot: detail, top: detailTop, rows: "data-detail-probes")
        }
        out += "</g>\n"
        return out
    }

    func section(_ lane: TimelineLane, plot: Plot, top: Double, rows: String) -> String {
        var out = "<g data-plot=\"\(plot.window == nil ? "run" : "detail")\" transform=\"translate(0,\(TimelineText.coordinate(top)))\">\n"
        out += grid(plot)
        out += steps(lane.steps, plot)
        out += rowLabels()
        out += probes(lane.probes.filter { plot.shows($0.at) }, plot, rows: rows)
        out += markers(lane.markers.filter { plot.shows($0.at) }, plot)
        out += spans(lane.spans, plot)
        out += axisLine(plot)
        out += "</g>\n"
        return out
    }

    /// The probe area's frame and a faint line at every tick; a darker one at offset 0.
    func grid(_ plot: Plot) -> String {
        let top = TimelineText.coordinate(rowsTop), bottom = TimelineText.coordinate(rowsBottom)
        var out = "<rect x=\"\(TimelineText.coordinate(left))\" y=\"\(top)\" width=\"\(TimelineText.coordinate(right - left))\" height=\"\(TimelineText.coordinate(rowsBottom - rowsTop))\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"0.6\"/>\n"
        for tick in plot.axis.ticks {
            let colour = tick == 0 ? "#999" : "#e6e6e6"
            out += "<path d=\"M\(TimelineText.coordinate(plot.x(tick))) \(top)V\(bottom)\" stroke=\"\(colour)\" stroke-width=\"0.6\"/>\n"
        }
        return out
    }

    func rowLabels() -> String {
        var out = ""
        for (index, kind) in kinds.enumerated() {
            out += "<text x=\"\(TimelineText.coordinate(left - 6))\" y=\"\(TimelineText.coordinate(kindRowCentre(index) + 3.5))\" text-anchor=\"end\" font-size=\"10\">\(TimelineText.escape(kind)) answered</text>\n"
        }
        for (index, failure) in failures.enumerated() {
            out += "<text x=\"\(TimelineText.coordinate(left - 6))\" y=\"\(TimelineText.coordinate(failureRowCentre(index) + 1))\" text-anchor=\"end\" font-size=\"10\">\(failure.title)</text>\n"
        }
        return out
    }

    /// Successes of each kind in their row: where probes failed or none ran, the row is empty.
    func probes(_ probes: [TimelineProbe], _ plot: Plot, rows: String) -> String {
        var out = ""
        for (index, kind) in kinds.enumerated() {
            let marks = probes.filter { $0.kind == kind && $0.outcome == .success }
            out += "<g \(rows)=\"ok\" data-kind=\"\(TimelineText.escape(kind))\" transform=\"translate(0,\(TimelineText.coordinate(kindRowCentre(index))))\">"
            for probe in marks { out += "<use xlink:href=\"#p-ok\" x=\"\(TimelineText.coordinate(plot.x(probe.at)))\"/>" }
            out += "</g>\n"
        }
        for (index, failure) in failures.enumerated() {
            out += "<g \(rows)=\"\(failure.rawValue)\" transform=\"translate(0,\(TimelineText.coordinate(failureRowCentre(index))))\">\n"
            for probe in probes {
                guard case .failure(failure, let reason) = probe.outcome else { continue }
                let when = TimelineText.offset(TimelineText.milliseconds(probe.at))
                out += "<use xlink:href=\"#\(TimelineSVG.symbol(failure))\" x=\"\(TimelineText.coordinate(plot.x(probe.at)))\" data-failure=\"\(failure.rawValue)\">"
                out += "<title>\(when) \(TimelineText.escape(probe.kind)): \(TimelineText.escape(reason))</title></use>\n"
            }
            out += "</g>\n"
        }
        return out
    }

    func steps(_ steps: [TimelineStep], _ plot: Plot) -> String {
        var out = ""
        for (index, step) in steps.enumerated() {
            guard let (start, end) = plot.clip(step.start, step.end) else { continue }
            let fill = index % 2 == 0 ? "#f1f1f1" : "#e3e3e3"
            let text = "\(step.name) (\(step.host))"
            out += "<g data-step=\"\(index + 1)\"><title>\(TimelineText.escape(text)): \(TimelineText.offset(TimelineText.milliseconds(step.start))) to \(TimelineText.offset(TimelineText.milliseconds(step.end)))</title><rect x=\"\(TimelineText.coordinate(start))\" y=\"\(TimelineText.coordinate(stepTop))\" width=\"\(TimelineText.coordinate(end - start))\" height=\"\(TimelineText.coordinate(rowsBottom - stepTop))\" fill=\"\(fill)\"/>"
            out += "<text x=\"\(TimelineText.coordinate(start + 3))\" y=\"\(TimelineText.coordinate(stepTop + 10))\" font-size=\"10\">\(TimelineText.escape(text))</text></g>\n"
        }
        return out
    }

    func markers(_ markers: [TimelineMarker], _ plot: Plot) -> String {
        let placed = Self.placeMarkers(markers, plot: plot, limit: width - 4)
        var out = ""
        for (marker, row) in zip(markers, placed.row) {
            let position = plot.x(marker.at)
            let baseline = Double(row + 1) * Self.markerRowHeight - 2
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
    static func placeMarkers(_ markers: [TimelineMarker], plot: Plot, limit: Double) -> (row: [Int], rows: Int) {
        var rowEnds: [Double] = []
        var rows: [Int] = []
        let order = markers.indices.sorted { markers[$0].at < markers[$1].at }
        for index in order {
            let position = plot.x(markers[index].at)
            let span = TimelineText.width(markerText(markers[index]), size: markerFont)
            let start = position + span + 3 > limit ? position - span - 3 : position
            let end = start + span + 3
            let row = rowEnds.firstIndex { $0 + 6 <= start } ?? (rowEnds.count < maxMarkerRows ? rowEnds.count : maxMarkerRows - 1)
            if row == rowEnds.count { rowEnds.append(end) } else { rowEnds[row] = max(rowEnds[row], end) }
            rows.append(row)
        }
        // Rows were given in time order; hand them back in the caller's order.
        var result = Array(repeating: 0, count: markers.count)
        for (sortedIndex, original) in order.enumerated() { result[original] = rows[sortedIndex] }
        return (result, rowEnds.count)
    }

    func spans(_ spans: [TimelineSpan], _ plot: Plot) -> String {
        var out = ""
        for span in spans {
            guard let (start, end) = plot.clip(span.start, span.end) else { continue }
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

    func axisLine(_ plot: Plot) -> String {
        let y = TimelineText.coordinate(axisY)
        var out = "<g data-axis=\"time\"><path d=\"M\(TimelineText.coordinate(left)) \(y)H\(TimelineText.coordinate(right))\" stroke=\"#000\" stroke-width=\"0.8\"/>"
        for tick in plot.axis.ticks {
            let position = TimelineText.coordinate(plot.x(tick))
            out += "<path d=\"M\(position) \(y)v4\" stroke=\"#000\" stroke-width=\"0.8\"/>"
            out += "<text x=\"\(position)\" y=\"\(TimelineText.coordinate(axisY + 14))\" text-anchor=\"middle\" font-size=\"10\">\(plot.axis.label(tick))</text>"
        }
        out += "</g>\n"
        return out
    }
}
