import Foundation
import Testing
@testable import ClusterupCore

private func event(_ host: String, _ step: String, _ state: HostState, at: Int, elapsed: Int, _ detail: String? = nil) -> ProgressEvent {
    ProgressEvent(host: host, step: step, state: state, at: .milliseconds(at), elapsed: .milliseconds(elapsed), detail: detail)
}

@Suite struct ProgressBoardTests {
    @Test func hostsStartPendingInTheGivenOrder() {
        let board = ProgressBoard(hosts: ["b", "a"])
        #expect(board.rows.map(\.host) == ["b", "a"])
        #expect(board.rows.allSatisfy { $0.state == .pending })
        #expect(!board.isFinished)
    }

    @Test func eventsUpdateTheirHostOnly() {
        var board = ProgressBoard(hosts: ["node1", "node2"])
        board.apply(event("node2", "connect", .running, at: 1000, elapsed: 0))
        board.apply(event("node2", "exec", .failed, at: 1500, elapsed: 500, "exit status 1"))
        #expect(board.rows[0].state == .pending)
        #expect(board.rows[1] == .init(host: "node2", step: "exec", state: .failed, startedAt: .milliseconds(1000), elapsed: .milliseconds(500), detail: "exit status 1"))
        #expect(board.count(.failed) == 1)
    }

    @Test func runningHostsKeepCountingUntilTheyFinish() {
        var board = ProgressBoard(hosts: ["node1"])
        board.apply(event("node1", "exec", .running, at: 1000, elapsed: 0))
        #expect(board.rows[0].elapsed(now: .milliseconds(3500)) == .milliseconds(2500))
        board.apply(event("node1", "exec", .ok, at: 2000, elapsed: 1000))
        #expect(board.rows[0].elapsed(now: .milliseconds(9000)) == .milliseconds(1000))
        #expect(board.isFinished)
    }

    @Test func elapsedFormatsAsSecondsThenMinutes() {
        #expect(formatElapsed(.milliseconds(250)) == "0.2s")
        #expect(formatElapsed(.milliseconds(12_345)) == "12.3s")
        #expect(formatElapsed(.seconds(125)) == "2m05s")
    }
}

@Suite struct ProgressRendererTests {
    private var board: ProgressBoard {
        var board = ProgressBoard(hosts: ["node1", "node10", "node2"])
        board.apply(event("node1", "exec", .ok, at: 0, elapsed: 1200))
        board.apply(event("node10", "connect", .running, at: 500, elapsed: 0))
        return board
    }

    @Test func liveLinesAlignHostStepStateAndElapsed() {
        let lines = LiveProgressRenderer.lines(board, now: .milliseconds(2500))
        #expect(lines == [
            "node1   exec     ok       1.2s",
            "node10  connect  running  2.0s",
            "node2            pending",
        ])
    }

    @Test func liveLinesAreCutToTheTerminalWidth() {
        var board = ProgressBoard(hosts: ["node1"])
        board.apply(event("node1", "exec", .failed, at: 0, elapsed: 100, String(repeating: "x", count: 200)))
        let line = LiveProgressRenderer.lines(board, now: .zero, width: 40)[0]
        #expect(line.count == 39)
    }

    @Test func redrawMovesUpOverThePreviousFrameAndClearsEachLine() {
        let first = LiveProgressRenderer.redraw(board, now: .zero, previousLineCount: 0, color: false).text
        #expect(!first.contains("\u{1B}[3A"))
        let next = LiveProgressRenderer.redraw(board, now: .zero, previousLineCount: 3, color: false).text
        #expect(next.hasPrefix("\u{1B}[3A"))
        #expect(next.components(separatedBy: "\r\u{1B}[2K").count == 4)
        #expect(next.hasSuffix("pending\n\u{1B}[J"))
    }

    @Test func boardsTallerThanTheScreenShowFailedAndRunningHostsAndASummary() {
        var board = ProgressBoard(hosts: (1...50).map { "node\($0)" })
        board.apply(event("node7", "exec", .running, at: 0, elapsed: 0))
        board.apply(event("node9", "exec", .failed, at: 0, elapsed: 100, "exit status 1"))
        board.apply(event("node3", "exec", .ok, at: 0, elapsed: 100))
        let lines = LiveProgressRenderer.lines(board, now: .milliseconds(500), maxLines: 10)
        #expect(lines == [
            "node9  exec  failed   0.1s  exit status 1",
            "node7  exec  running  0.5s",
            "50 hosts: 47 pending, 1 running, 1 ok, 1 failed",
        ])
    }

    @Test func redrawReportsHowManyLinesItDrew() {
        let board = ProgressBoard(hosts: (1...50).map { "node\($0)" })
        #expect(LiveProgressRenderer.redraw(board, now: .zero, previousLineCount: 0, height: 24).lineCount == 1)
        #expect(LiveProgressRenderer.redraw(board, now: .zero, previousLineCount: 0, height: nil).lineCount == 50)
    }

    @Test func colorWrapsOnlyTheStateWord() {
        let colored = LiveProgressRenderer.lines(board, now: .milliseconds(2500), color: true)[0]
        #expect(colored == "node1   exec     \u{1B}[32mok\u{1B}[0m       1.2s")
    }

    @Test func plainLinesNameTheHostAndFinishedElapsed() {
        #expect(PlainProgressRenderer.line(event("node1", "connect", .running, at: 0, elapsed: 0)) == "node1: connect: running\n")
        #expect(PlainProgressRenderer.line(event("node1", "exec", .failed, at: 0, elapsed: 1500, "exit status 2"))
            == "node1: exec: failed (1.5s): exit status 2\n")
    }

    @Test func jsonHasOneObjectPerHostWithExtraFields() {
        let text = JSONProgressRenderer.lines(board) { host in host == "node1" ? [("exit_status", .int(0))] : [] }
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == #"{"host":"node1","state":"ok","step":"exec","elapsed_ms":1200,"exit_status":0}"#)
        for line in lines {
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(line.utf8)) }
        }
    }
}

@Suite struct ProgressWriterTests {
    @Test func modeIsLiveOnlyForTextOnATerminal() {
        #expect(ProgressWriter.mode(for: .text, isTTY: true, width: 120, height: 40) == .live(width: 120, height: 40))
        #expect(ProgressWriter.mode(for: .text, isTTY: false, width: nil) == .plain)
        #expect(ProgressWriter.mode(for: .json, isTTY: true, width: 120) == .json)
    }

    @Test func plainWriterWritesOneLinePerEvent() {
        let output = Locked("")
        let writer = ProgressWriter(mode: .plain, hosts: ["node1"], clock: TimeSource { .zero }) { text in output.withLock { $0 += text } }
        writer.handle(event("node1", "exec", .running, at: 0, elapsed: 0))
        writer.handle(event("node1", "exec", .ok, at: 0, elapsed: 300))
        writer.finish()
        #expect(output.withLock { $0 } == "node1: exec: running\nnode1: exec: ok (0.3s)\n")
    }

    @Test func jsonWriterWritesOnlyAtTheEnd() {
        let output = Locked("")
        let writer = ProgressWriter(mode: .json, hosts: ["node1"], clock: TimeSource { .zero }) { text in output.withLock { $0 += text } }
        writer.handle(event("node1", "exec", .ok, at: 0, elapsed: 300))
        #expect(output.withLock { $0 }.isEmpty)
        writer.finish()
        #expect(output.withLock { $0 } == #"{"host":"node1","state":"ok","step":"exec","elapsed_ms":300}"# + "\n")
    }

    @Test func liveWriterRedrawsTheWholeBoardOnEachEvent() {
        let output = Locked<[String]>([])
        let writer = ProgressWriter(mode: .live(width: 80, height: 24), hosts: ["node1", "node2"], clock: TimeSource { .zero }) { text in
            output.withLock { $0.append(text) }
        }
        writer.handle(event("node1", "exec", .running, at: 0, elapsed: 0))
        writer.handle(event("node2", "exec", .running, at: 0, elapsed: 0))
        let frames = output.withLock { $0 }
        #expect(frames.count == 2)
        #expect(!frames[0].hasPrefix("\u{1B}["))
        #expect(frames[1].hasPrefix("\u{1B}[2A"))
    }
}

@Suite struct OutputFormattingTests {
    @Test func textTableAlignsColumns() {
        #expect(TextTable.render(header: ["NAME", "ROLES"], rows: [["node10", "etcd"], ["n1", "lb"]])
            == "NAME    ROLES\nnode10  etcd\nn1      lb\n")
    }

    @Test func jsonValueEscapesAndKeepsKeyOrder() {
        let value = JSONValue.object([("z", .string("a\"b\n")), ("a", .array([.int(1), .null, .bool(true)]))])
        #expect(value.compact == #"{"z":"a\"b\n","a":[1,null,true]}"#)
    }

    @Test func inventoryReportListsResolvedHosts() throws {
        let inventory = try parseInventory(minimalInventory(hosts: """
              - {name: node1, address: 198.51.100.11, roles: [lb, etcd], ssh: {user: admin, sudo: {password_env: SUDO_PW}}}
            """, extra: "vrrp: {interface: eth0}\nssh: {bastion: jump@198.51.100.2:22}"))
        let text = InventoryReport.text(inventory)
        #expect(text.contains("NAME   ADDRESS        PRIVATE ADDRESS  ROLES    USER   PORT  SUDO      BASTION\n"))
        #expect(text.contains("node1  198.51.100.11  198.51.100.11    etcd,lb  admin  -     $SUDO_PW  jump@198.51.100.2:22\n"))
        #expect(text.contains("priorities node1=254"))
    }

    @Test func inventoryJSONNeverIncludesTheVRRPPassword() throws {
        let inventory = try parseInventory(minimalInventory(hosts: """
              - {name: node1, address: 198.51.100.11, roles: [lb]}
            """, extra: "vrrp: {interface: eth0, version: 2, auth_password: s3cr3t}"))
        let json = InventoryReport.json(inventory)
        #expect(!json.pretty.contains("s3cr3t"))
        #expect(json["vrrp"]?["auth_password_set"] == .bool(true))
        #expect(json["hosts"].map { if case .array(let hosts) = $0 { hosts.count } else { 0 } } == 1)
    }
}
