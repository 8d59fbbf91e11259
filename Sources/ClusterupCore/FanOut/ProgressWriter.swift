import Foundation

public enum OutputFormat: String, Sendable, CaseIterable {
    case text, json
}

/// The thin adapter between fan-out events and a terminal or pipe: keeps the board, picks the
/// renderer, writes its text. All formatting lives in the renderers.
public final class ProgressWriter: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Redraw one line per host in place (stdout is a terminal of this size).
        case live(width: Int, height: Int?)
        /// One line per event.
        case plain
        /// Nothing while running; one JSON object per host at the end.
        case json
    }

    /// Live redraws only make sense on a terminal; pipes and CI get plain lines.
    public static func mode(for format: OutputFormat, isTTY: Bool, width: Int?, height: Int? = nil) -> Mode {
        switch format {
        case .json: .json
        case .text: isTTY ? .live(width: width ?? 80, height: height) : .plain
        }
    }

    private struct State {
        var board: ProgressBoard
        var linesOnScreen = 0
        var finished = false
    }

    public let mode: Mode
    private let clock: TimeSource
    private let write: @Sendable (String) -> Void
    private let state: Locked<State>

    /// `clock` must be the same `TimeSource` the fan-out uses, so elapsed times agree.
    public init(mode: Mode, hosts: [String], clock: TimeSource, write: @escaping @Sendable (String) -> Void) {
        self.mode = mode
        self.clock = clock
        self.write = write
        self.state = Locked(State(board: ProgressBoard(hosts: hosts)))
    }

    public var board: ProgressBoard { state.withLock { $0.board } }

    /// Pass as the fan-out's `progress`.
    public var sink: @Sendable (ProgressEvent) -> Void { { [self] in handle($0) } }

    public func handle(_ event: ProgressEvent) {
        state.withLock { state in
            guard !state.finished else { return }
            state.board.apply(event)
            switch mode {
            case .live(let width, let height): redraw(&state, width: width, height: height)
            case .plain: write(PlainProgressRenderer.line(event))
            case .json: break
            }
        }
    }

    /// In live mode, redraws periodically so running hosts' elapsed times keep counting.
    public func startTicker(every interval: Duration = .milliseconds(250)) {
        guard case .live(let width, let height) = mode else { return }
        let seconds = interval.totalSeconds
        Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: seconds)
                let done = state.withLock { state -> Bool in
                    guard !state.finished else { return true }
                    redraw(&state, width: width, height: height)
                    return false
                }
                if done { return }
            }
        }.start()
    }

    /// Final frame (live) or the per-host JSON objects; `extra` adds command-specific JSON fields.
    public func finish(extra: (String) -> [(String, JSONValue)] = { _ in [] }) {
        state.withLock { state in
            guard !state.finished else { return }
            switch mode {
            case .live(let width, let height): redraw(&state, width: width, height: height)
            case .plain: break
            case .json: write(JSONProgressRenderer.lines(state.board, extra: extra))
            }
            state.finished = true
        }
    }

    private func redraw(_ state: inout State, width: Int, height: Int?) {
        let frame = LiveProgressRenderer.redraw(
            state.board, now: clock.now(), previousLineCount: state.linesOnScreen, width: width, height: height)
        write(frame.text)
        state.linesOnScreen = frame.lineCount
    }
}
