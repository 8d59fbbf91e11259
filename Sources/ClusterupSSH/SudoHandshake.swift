/// The exchange with `sudo -S` before the command runs: the password is written only when sudo's
/// own prompt appears on stderr, and the command's stdin only after a marker the wrapped command
/// prints first. On a host where a NOPASSWD rule lets sudo skip the prompt, the password is
/// therefore never sent, so it can never reach the command (as Ansible's become does).
///
/// Pure: bytes in, decisions out; `SSHConnection.execute` does the I/O.
struct SudoHandshake: Sendable {
    enum State: Sendable, Equatable {
        /// Neither prompt nor marker seen yet.
        case waiting
        /// Answered the prompt once; a second prompt means the password was refused.
        case answered
        /// The marker came: the command runs as root and owns stdin and stderr from here on.
        case released
        /// sudo asked again after the password was sent: stdin is closed so sudo gives up.
        case refused
    }

    /// What `feed` asks the exec loop to do.
    struct Step: Sendable, Equatable {
        /// Bytes to write to the channel before anything else (the password line).
        var write: [UInt8] = []
        /// The command's stdin may now be sent (once, on release).
        var releaseInput = false
        /// Send EOF now: sudo refused the password and must not wait for another.
        var closeInput = false
        /// stderr bytes that belong to the caller (sudo's own messages, or the command's output).
        var stderr: [UInt8] = []
    }

    let prompt: [UInt8]
    let marker: [UInt8]
    private let password: [UInt8]
    private(set) var state: State = .waiting
    /// stderr not yet known to be free of a prompt or the marker (a prefix of one may be split
    /// across reads).
    private var held: [UInt8] = []

    init(prompt: String, marker: String, password: String) {
        self.prompt = Array(prompt.utf8)
        self.marker = Array((marker + "\n").utf8)
        self.password = Array((password + "\n").utf8)
    }

    /// A prompt and marker no command output or sudo message will contain by chance. No `%`:
    /// sudo expands `%` escapes in the prompt.
    static func random(password: String) -> SudoHandshake {
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return SudoHandshake(prompt: "[clusterup-sudo-\(token)] ", marker: "clusterup-sudo-ok-\(token)", password: password)
    }

    /// Wraps `script` so that sudo prompts with our prompt and the root shell prints the marker
    /// to stderr before anything else.
    func wrap(_ script: String) -> String {
        let marker = String(decoding: self.marker.dropLast(), as: UTF8.self)
        return "sudo -k -S -p " + Shell.quote(String(decoding: prompt, as: UTF8.self)) + " -- sh -c "
            + Shell.quote("printf '%s\\n' " + Shell.quote(marker) + " >&2; " + script)
    }

    mutating func feed(stderr chunk: [UInt8]) -> Step {
        if state == .released { return Step(stderr: chunk) }
        held += chunk
        var step = Step()
        while true {
            if let range = firstRange(of: marker, in: held) {
                step.stderr += held[..<range.lowerBound]
                step.stderr += held[range.upperBound...]
                held = []
                state = .released
                step.releaseInput = true
                return step
            }
            if let range = firstRange(of: prompt, in: held) {
                step.stderr += held[..<range.lowerBound]
                held.removeSubrange(..<range.upperBound)
                switch state {
                case .waiting:
                    state = .answered
                    step.write += password
                case .answered, .refused:
                    state = .refused
                    step.closeInput = true
                case .released:
                    break
                }
                continue
            }
            // Keep back only what could still be the start of a prompt or the marker.
            let keep = longestSuffixThatPrefixes(held)
            step.stderr += held.dropLast(keep)
            held = Array(held.suffix(keep))
            return step
        }
    }

    /// stderr still held when the command ended (sudo failed before the marker).
    mutating func finish() -> [UInt8] {
        defer { held = [] }
        return held
    }

    private func longestSuffixThatPrefixes(_ bytes: [UInt8]) -> Int {
        var best = 0
        for needle in [prompt, marker] {
            for length in stride(from: min(needle.count - 1, bytes.count), to: best, by: -1)
            where bytes.suffix(length).elementsEqual(needle.prefix(length)) {
                best = length
                break
            }
        }
        return best
    }

    private func firstRange(of needle: [UInt8], in bytes: [UInt8]) -> Range<Int>? {
        guard needle.count <= bytes.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
            return start..<(start + needle.count)
        }
        return nil
    }
}
