import ClusterupCore
import ClusterupDeploy
import Foundation

/// Shows a deploy as it runs: phase lines, per-host notes and failures (text), or one JSON
/// document at the end.
final class DeployRenderer: Sendable {
    private struct State {
        var phases: [(String, JSONValue)] = []
        var notes: [JSONValue] = []
        var failedHosts: [String: String] = [:]
        /// On a terminal: the live board of the running phase, and notes held until it is drawn
        /// for the last time (printing them in between would tear the board).
        var board: ProgressWriter?
        var heldNotes: [String] = []
    }

    let json: Bool
    let live: ProgressWriter.Mode
    /// The JSON document goes here instead of stdout: a command that runs a deploy as one of
    /// its steps (`etcd recover`) puts it inside its own document.
    let jsonSink: (@Sendable (JSONValue) -> Void)?
    private let clock = TimeSource.continuous
    private let state = Locked(State())

    init(json: Bool, live: ProgressWriter.Mode, jsonSink: (@Sendable (JSONValue) -> Void)? = nil) {
        self.json = json
        self.live = live
        self.jsonSink = jsonSink
    }

    private var isLive: Bool {
        if case .live = live { return !json }
        return false
    }

    @Sendable func handle(_ event: DeployEvent) {
        state.withLock { state in
            switch event {
            case .phaseStarted(let phase):
                if !json { write("==> \(phase)\n") }
                if isLive {
                    // Rows appear as hosts start work: a phase may touch only some hosts (etcd, lb).
                    let board = ProgressWriter(mode: live, hosts: [], clock: clock, write: { [self] in write($0) })
                    board.startTicker()
                    state.board = board
                }
            case .phaseSkipped(let phase, let reason):
                state.phases.append((phase, .object([("skipped", .string(reason))])))
                if !json { write("==> \(phase): skipped (\(reason))\n") }
            case .phaseFinished(let phase, let timing):
                state.phases.append((phase, .object([
                    ("seconds", .double(timing.elapsed.totalSeconds)), ("cpu_seconds", .double(timing.cpu.totalSeconds)),
                ])))
                endBoard(&state)
                if !json { write("    done in \(Self.seconds(timing.elapsed)) (clusterup CPU \(Self.seconds(timing.cpu)))\n") }
            case .host(let progress):
                if progress.state == .failed { state.failedHosts[progress.host] = progress.detail ?? progress.step }
                state.board?.handle(progress)
            case .note(let host, let text):
                state.notes.append(.object([("host", .optional(host)), ("text", .string(text))]))
                let line = "    \(host.map { "\($0): " } ?? "")\(text)\n"
                if state.board != nil { state.heldNotes.append(line) } else if !json { write(line) }
            }
        }
    }

    /// Draws the board one last time, then the notes it held back.
    private func endBoard(_ state: inout State) {
        guard let board = state.board else { return }
        board.finish()
        state.board = nil
        for line in state.heldNotes { write(line) }
        state.heldNotes = []
    }

    func finish(report: Deploy.Report?, dryRun: Bool, error: String?) {
        state.withLock { state in
            endBoard(&state)
            if json {
                var fields: [(String, JSONValue)] = [("ok", .bool(error == nil)), ("dry_run", .bool(dryRun))]
                fields.append(("phases", .object(state.phases)))
                fields.append(("notes", .array(state.notes)))
                if let report {
                    fields.append(("seconds", .double(report.total.elapsed.totalSeconds)))
                    fields.append(("cpu_seconds", .double(report.total.cpu.totalSeconds)))
                    fields.append(("changes", .int(Int64(report.changeCount))))
                    fields.append(("hosts_changed", .array(report.changes.filter { !$0.value.isEmpty }.keys.sorted().map(JSONValue.string))))
                }
                if let error { fields.append(("error", .string(error))) }
                if let jsonSink { jsonSink(.object(fields)) } else { write(JSONValue.object(fields).pretty + "\n") }
                return
            }
            if let error {
                write("\n\(error)\n")
            } else if let report {
                let count = report.changeCount
                if dryRun {
                    write(count == 0 ? "\ndry run: no changes\n" : "\ndry run: \(count) change(s) would be made; nothing was changed\n")
                } else {
                    write(count == 0 ? "\ndeploy: no changes, everything already matched the inventory\n" : "\ndeploy: done, \(count) change(s) made\n")
                }
                write(Self.timingSummary(report))
            }
        }
    }

    /// Where the time went, phase by phase: wall time, and the CPU clusterup itself used (the
    /// rest is the hosts working and the network).
    static func timingSummary(_ report: Deploy.Report) -> String {
        let rows = report.timings.map { ($0.phase, $0.timing) } + [("total", report.total)]
        let width = rows.map(\.0.count).max() ?? 0
        var text = "\n\("phase".padding(toLength: width, withPad: " ", startingAt: 0))      time  clusterup CPU\n"
        for (phase, timing) in rows {
            let time = seconds(timing.elapsed), cpu = seconds(timing.cpu)
            text += phase.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(repeating: " ", count: max(1, 10 - time.count)) + time
                + String(repeating: " ", count: max(1, 15 - cpu.count)) + cpu + "\n"
        }
        return text
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", duration.totalSeconds)
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
