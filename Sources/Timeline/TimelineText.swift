/// Text for the picture without Foundation: numbers in fixed notation, durations as a reader
/// wants them, and XML escaping of everything that came from outside (host names, reasons).
enum TimelineText {
    /// Escapes the five XML specials; characters XML 1.0 forbids (control characters a remote
    /// error message may carry) become U+FFFD, so the document always parses.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n", "\r": result.unicodeScalars.append(" ")
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) {
                    result.unicodeScalars.append("\u{FFFD}")
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// `value` rounded to `places` decimals, "-" only when the rounded value is not zero.
    static func fixed(_ value: Double, _ places: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * Double(scale)).rounded()
        let magnitude = Int64(scaled.magnitude)
        var text = (scaled < 0 && magnitude != 0 ? "-" : "") + String(magnitude / scale)
        if places > 0 {
            let fraction = String(magnitude % scale)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return text
    }

    /// A coordinate: one decimal, none when it is whole (keeps files with thousands of marks small).
    static func coordinate(_ value: Double) -> String {
        let text = fixed(value, 1)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// "35.2 ms" below a second, "1.62 s" from a second on.
    static func duration(_ milliseconds: Double) -> String {
        milliseconds.magnitude < 1000 ? fixed(milliseconds, 1) + " ms" : fixed(milliseconds / 1000, 2) + " s"
    }

    /// An offset from the lane's origin: "+35.2 ms", "−300.0 ms" (a true minus sign).
    static func offset(_ milliseconds: Double) -> String {
        let text = duration(milliseconds.magnitude)
        if text == "0.0 ms" { return "0 ms" }
        return (milliseconds < 0 ? "\u{2212}" : "+") + text
    }

    /// Width of `text` in a proportional sans-serif, estimated: enough to keep labels apart.
    static func width(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.56
    }
}

/// A time axis: tick spacing 1, 2 or 5 times a power of ten, about eight ticks over the span,
/// in milliseconds below two seconds of span and in seconds above.
struct TimeAxis: Equatable {
    let start: Double
    let end: Double
    let step: Double
    let inSeconds: Bool

    init(start: Double, end: Double) {
        self.start = start
        self.end = max(end, start + 1)
        let span = self.end - start
        let wanted = span / 8
        var magnitude = 0.001
        while magnitude * 10 <= wanted { magnitude *= 10 }
        step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= wanted } ?? magnitude * 10
        inSeconds = span >= 2000
    }

    var ticks: [Double] {
        var result: [Double] = []
        var index = (start / step).rounded(.up)
        while index * step <= end {
            result.append(index * step)
            index += 1
        }
        return result
    }

    func label(_ tick: Double) -> String {
        if tick.magnitude < step / 1000 { return "0" }
        let sign = tick < 0 ? "\u{2212}" : ""
        if inSeconds {
            let places = step >= 1000 ? 0 : step >= 100 ? 1 : 2
            return sign + TimelineText.fixed(tick.magnitude / 1000, places) + " s"
        }
        let places = step >= 1 ? 0 : step >= 0.1 ? 1 : 2
        return sign + TimelineText.fixed(tick.magnitude, places) + " ms"
    }
}
