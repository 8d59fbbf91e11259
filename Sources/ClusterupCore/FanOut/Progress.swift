public enum HostState: String, Sendable, Equatable, CaseIterable {
    case pending, running, ok, failed, skipped

    public var isFinished: Bool { self == .ok || self == .failed || self == .skipped }
}

/// Something that happened on one host during a fan-out.
public struct ProgressEvent: Sendable, Equatable {
    public var host: String
    public var step: String
    public var state: HostState
    /// Clock reading when it happened (see `TimeSource`).
    public var at: Duration
    /// Time since the host's operation started.
    public var elapsed: Duration
    /// Why it failed, or why it was skipped.
    public var detail: String?

    public init(host: String, step: String, state: HostState, at: Duration, elapsed: Duration, detail: String? = nil) {
        self.host = host
        self.step = step
        self.state = state
        self.at = at
        self.elapsed = elapsed
        self.detail = detail
    }
}

/// The latest known state of every host, in a fixed order. A value: renderers read it, events update it.
public struct ProgressBoard: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var host: String
        public var step: String = ""
        public var state: HostState = .pending
        /// Clock reading when the host started; nil while pending.
        public var startedAt: Duration?
        /// Elapsed at the last event; for finished hosts, the final figure.
        public var elapsed: Duration = .zero
        public var detail: String?

        /// Elapsed as of `now`: still counting for running hosts.
        public func elapsed(now: Duration) -> Duration {
            guard state == .running, let startedAt else { return elapsed }
            return max(elapsed, now - startedAt)
        }
    }

    public private(set) var rows: [Row]

    public init(hosts: [String]) {
        rows = hosts.map { Row(host: $0) }
    }

    public mutating func apply(_ event: ProgressEvent) {
        guard let index = rows.firstIndex(where: { $0.host == event.host }) else {
            rows.append(Row(host: event.host))
            return apply(event)
        }
        rows[index].step = event.step
        rows[index].state = event.state
        rows[index].elapsed = event.elapsed
        rows[index].detail = event.detail
        if rows[index].startedAt == nil { rows[index].startedAt = event.at - event.elapsed }
    }

    public func count(_ state: HostState) -> Int { rows.filter { $0.state == state }.count }

    public var isFinished: Bool { rows.allSatisfy { $0.state.isFinished } }
}

/// "0.2s", "12.3s", "2m05s": short, and the same width class for a whole table.
public func formatElapsed(_ duration: Duration) -> String {
    let tenths = duration.totalMilliseconds / 100
    if tenths < 600 { return "\(tenths / 10).\(tenths % 10)s" }
    let seconds = tenths / 10
    let remainder = seconds % 60
    return "\(seconds / 60)m\(remainder < 10 ? "0" : "")\(remainder)s"
}

/// Renders a board as one line per host, redrawn in place with ANSI escapes. Only for a TTY.
public enum LiveProgressRenderer {
    /// One line per host: host, step, state, elapsed (and the failure reason), cut to `width`
    /// columns so no line wraps and the cursor-up count stays right. `color` paints the state word.
    /// With more hosts than `maxLines`, shows failed then running hosts and a summary line, since
    /// the cursor cannot move back above the top of the screen.
    public static func lines(
        _ board: ProgressBoard, now: Duration, width: Int = 80, maxLines: Int? = nil, color: Bool = false
    ) -> [String] {
        guard let maxLines, board.rows.count > maxLines else {
            return lines(board.rows, now: now, width: width, color: color)
        }
        let shown = Array((board.rows.filter { $0.state == .failed } + board.rows.filter { $0.state == .running })
            .prefix(max(maxLines - 1, 0)))
        let counts = HostState.allCases.compactMap { state in
            board.count(state) > 0 ? "\(board.count(state)) \(state.rawValue)" : nil
        }
        let summary = "\(board.rows.count) hosts: \(counts.joined(separator: ", "))"
        return lines(shown, now: now, width: width, color: color) + [String(summary.prefix(max(width - 1, 1)))]
    }

    private static func lines(_ rows: [ProgressBoard.Row], now: Duration, width: Int, color: Bool) -> [String] {
        let hostWidth = rows.map(\.host.count).max() ?? 0
        let stepWidth = rows.map(\.step.count).max() ?? 0
        return rows.map { row in
            let lead = row.host.padded(to: hostWidth) + "  " + row.step.padded(to: stepWidth) + "  "
            var tail = ""
            if row.state != .pending { tail += "  " + formatElapsed(row.elapsed(now: now)) }
            if let detail = row.detail, row.state == .failed || row.state == .skipped {
                tail += "  " + (detail.split(separator: "\n").first.map(String.init) ?? "")
            }
            let visible = String((lead + row.state.rawValue.padded(to: 7) + tail).prefix(max(width - 1, 1)))
            guard color, let code = colorCode(row.state), visible.count >= lead.count + row.state.rawValue.count else {
                return visible
            }
            let rest = visible.dropFirst(lead.count + row.state.rawValue.count)
            return lead + "\u{1B}[\(code)m" + row.state.rawValue + "\u{1B}[0m" + rest
        }
    }

    /// Text that replaces the previous frame (`previousLineCount` lines above the cursor) with this
    /// one, and the number of lines it occupies (the next redraw's `previousLineCount`).
    public static func redraw(
        _ board: ProgressBoard, now: Duration, previousLineCount: Int, width: Int = 80, height: Int? = nil,
        color: Bool = true
    ) -> (text: String, lineCount: Int) {
        var out = previousLineCount > 0 ? "\u{1B}[\(previousLineCount)A" : ""
        let frame = lines(board, now: now, width: width, maxLines: height.map { max($0 - 1, 2) }, color: color)
        for line in frame {
            out += "\r\u{1B}[2K" + line + "\n"
        }
        // A shorter frame than the last one leaves old lines below: clear to the end of the screen.
        return (out + "\u{1B}[J", frame.count)
    }

    private static func colorCode(_ state: HostState) -> String? {
        switch state {
        case .ok: "32"
        case .failed: "31"
        case .skipped: "33"
        case .pending, .running: nil
        }
    }
}

/// One line per event, prefixed with the host: for logs, pipes and CI.
public enum PlainProgressRenderer {
    public static func line(_ event: ProgressEvent) -> String {
        var line = "\(event.host): \(event.step): \(event.state.rawValue)"
        if event.state.isFinished { line += " (\(formatElapsed(event.elapsed)))" }
        if let detail = event.detail { line += ": \(detail)" }
        return line + "\n"
    }
}

/// `--output json`: one object per host, one per line, once everything has finished.
public enum JSONProgressRenderer {
    /// `extra` adds command-specific fields (exit status, output) to a host's object.
    public static func lines(_ board: ProgressBoard, extra: (String) -> [(String, JSONValue)] = { _ in [] }) -> String {
        board.rows.map { row in
            var fields: [(String, JSONValue)] = [
                ("host", .string(row.host)), ("state", .string(row.state.rawValue)), ("step", .string(row.step)),
                ("elapsed_ms", .int(row.elapsed.totalMilliseconds)),
            ]
            if let detail = row.detail { fields.append((row.state == .failed ? "error" : "note", .string(detail))) }
            fields += extra(row.host)
            return JSONValue.object(fields).compact + "\n"
        }
        .joined()
    }
}
