import Testing
@testable import ClusterupSSH

@Suite struct SudoHandshakeTests {
    let prompt = "[p-1] "
    let marker = "ok-1"

    func fresh() -> SudoHandshake { SudoHandshake(prompt: prompt, marker: marker, password: "pw") }
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func passwordIsWrittenOnlyAfterThePromptAndInputAfterTheMarker() {
        var h = fresh()
        var step = h.feed(stderr: bytes(prompt))
        #expect(step.write == bytes("pw\n"))
        #expect(!step.releaseInput)
        #expect(step.stderr.isEmpty)
        step = h.feed(stderr: bytes("ok-1\nfrom the command"))
        #expect(step.releaseInput)
        #expect(step.write.isEmpty)
        #expect(step.stderr == bytes("from the command"))
        #expect(h.state == .released)
        // After release stderr passes through untouched, even a line that looks like the prompt.
        #expect(h.feed(stderr: bytes(prompt)).stderr == bytes(prompt))
    }

    @Test func withoutAPromptThePasswordIsNeverWritten() {
        // A NOPASSWD rule: sudo runs the command at once, the marker comes first.
        var h = fresh()
        let step = h.feed(stderr: bytes("ok-1\n"))
        #expect(step.releaseInput)
        #expect(step.write.isEmpty)
    }

    @Test func promptAndMarkerSplitAcrossReadsAreRecognised() {
        var h = fresh()
        var written: [UInt8] = []
        var passed: [UInt8] = []
        var released = false
        for piece in ["[p", "-1", "] ", "o", "k-", "1", "\nrest"] {
            let step = h.feed(stderr: bytes(piece))
            written += step.write
            passed += step.stderr
            released = released || step.releaseInput
        }
        #expect(written == bytes("pw\n"))
        #expect(released)
        #expect(passed == bytes("rest"))
    }

    @Test func aSecondPromptClosesInputInsteadOfAnsweringAgain() {
        var h = fresh()
        _ = h.feed(stderr: bytes(prompt))
        let step = h.feed(stderr: bytes("Sorry, try again.\n" + prompt))
        #expect(step.closeInput)
        #expect(step.write.isEmpty)
        #expect(step.stderr == bytes("Sorry, try again.\n"))
        #expect(h.state == .refused)
    }

    @Test func sudoMessagesBeforeTheMarkerReachTheCaller() {
        var h = fresh()
        var text = h.feed(stderr: bytes("sudo: a terminal is required\n")).stderr
        text += h.finish()
        #expect(text == bytes("sudo: a terminal is required\n"))
        #expect(h.state == .waiting)
    }

    @Test func randomHandshakesDifferAndWrapQuotesTheScript() {
        let a = SudoHandshake.random(password: "x"), b = SudoHandshake.random(password: "x")
        #expect(a.prompt != b.prompt)
        #expect(a.marker != b.marker)
        let command = a.wrap("echo it's")
        #expect(command.hasPrefix("sudo -k -S -p '[clusterup-sudo-"))
        #expect(command.contains("sh -c "))
    }
}
