import ClusterupCore
import Foundation
import Testing
@testable import ClusterupSSH
import TestSupport

/// Values an inventory or a user could hand us that break naive quoting: each must arrive as
/// one intact word and run nothing. `pwned` is a command the scratch PATH provides that leaves a
/// file behind, so any injection shows.
let hostileValues: [String] = [
    "/var/lib/etcd'\u{301}; pwned; : '\u{301}",        // apostrophe + combining mark: one Character
    "'\u{301}", "\u{301}'", "'\u{308}\u{301}'",
    "/srv/bk$(pwned)", "/srv/bk`pwned`", "a'; pwned; '", "a\"; pwned; \"", "a\\'; pwned; #",
    "line\npwned", "line\r\npwned", "tab\tpwned", "$HOME", "${IFS}pwned", "*", "?", "[a]", "~root",
    "-rf", "--", "a b", "%n%s", "!", "&& pwned", "| pwned", "; pwned", "> /tmp/x", "#comment",
    "\u{feff}'", "e\u{301}'", "👩‍👩‍👧'; pwned; '", "'''", "''", "\\", "\u{85}'", "\u{2028}pwned",
    String(decoding: [0x2F, 0xC3, 0x28, 0x27, 0x3B, 0x70], as: UTF8.self), // invalid UTF-8, repaired by String
]

/// Random strings of scalars that stress quoting: quotes, combining marks, controls (no NUL,
/// which no argv can carry), non-ASCII and plain letters.
func randomHostileString<G: RandomNumberGenerator>(_ g: inout G) -> String {
    let pool: [Unicode.Scalar] = ["'", "\"", "\\", "$", "`", "\n", "\r", "\t", " ", ";", "|", "&", "*", "#", "!",
                                  "\u{301}", "\u{308}", "\u{200D}", "\u{FEFF}", "\u{85}", "é", "ß", "☃", "😀", "a", "Z", "0", "-", "%"]
    let length = Int.random(in: 0...24, using: &g)
    var scalars = String.UnicodeScalarView()
    for _ in 0..<length { scalars.append(pool.randomElement(using: &g)!) }
    return String(scalars)
}

/// A seeded generator, so a failure can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A scratch directory with a PATH of recording stubs: each stub appends its name and argv
/// (NUL-separated, one record per line of the log) and `pwned` marks an injection.
struct Scratch {
    let dir: String
    var log: String { dir + "/calls" }
    var pwned: String { dir + "/PWNED" }

    init(stubs: [String]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        for name in stubs {
            let body = "#!/bin/sh\n{ printf '%s\\0' \(name) \"$@\"; printf '\\n'; } >> \(shellQuote(log))\n"
            try write(body, to: dir + "/bin/" + name)
        }
        try write("#!/bin/sh\n: > \(shellQuote(pwned))\n", to: dir + "/bin/pwned")
        // sudo runs what follows `--`, as the real one does once it lets the command run.
        try write("#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done; shift; exec \"$@\"\n", to: dir + "/bin/sudo")
    }

    private func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// Runs `script` under `shell` in the scratch directory with only the stubs and sh on PATH.
    /// Once more, on a clean log, when the shell says a stub was busy (ETXTBSY: a process forked by
    /// another test could hold a stub open for writing for a moment). A guess at the cause of the
    /// missing-record flake (see `attempt`), not confirmed: it did not stop that flake.
    func run(_ script: String, shell: String = "/bin/dash", environment: [String: String] = [:]) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        for _ in 0..<3 {
            let result = try runOnce(script, shell: shell, environment: environment)
            guard result.stderr.contains("Text file busy") else { return result }
            try? FileManager.default.removeItem(atPath: log)
            try? FileManager.default.removeItem(atPath: pwned)
            usleep(50_000)
        }
        return try runOnce(script, shell: shell, environment: environment)
    }

    private func runOnce(_ script: String, shell: String, environment: [String: String]) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let result = try ProcessRunner.run(shell, ["-c", script], environment: ["PATH": dir + "/bin:/usr/bin:/bin"].merging(environment) { $1 },
                                           currentDirectory: dir)
        return (result.status, result.stdoutBytes, result.stderr)
    }

    /// `script` in a fresh scratch directory, up to 3 times until the stubs record `expecting`.
    /// Under the full suite (lab tests beside it) the EXIT trap's `rm` record was missing now and
    /// then, with the script's status 0 (cause not found: once in each of two CI runs, 1 case of 37,
    /// never when run alone). The quoting under test is deterministic, so a wrong argv fails
    /// every attempt; the last attempt's record is what the test checks.
    static func attempt(stubs: [String], _ script: String, expecting: [[String]])
        throws -> (status: Int32, stderr: String, calls: [[String]], injected: Bool) {
        var last: (status: Int32, stderr: String, calls: [[String]], injected: Bool) = (0, "", [], false)
        for _ in 0..<3 {
            let scratch = try Scratch(stubs: stubs)
            defer { scratch.remove() }
            let result = try scratch.run(script)
            last = (result.status, result.stderr, scratch.calls(), scratch.injected)
            if last.calls == expecting && !last.injected { break }
        }
        return last
    }

    /// Every stub call: its argv, the stub's name first.
    func calls() -> [[String]] {
        guard let data = FileManager.default.contents(atPath: log) else { return [] }
        var calls: [[String]] = []
        var current: [String] = []
        var word: [UInt8] = []
        var afterRecord = false
        for byte in data {
            if afterRecord {
                // The newline that ends a record follows its last NUL.
                afterRecord = false
                if byte == 0x0A { calls.append(current); current = []; continue }
            }
            if byte == 0 { current.append(String(decoding: word, as: UTF8.self)); word = []; afterRecord = true } else { word.append(byte) }
        }
        return calls
    }

    var injected: Bool { FileManager.default.fileExists(atPath: pwned) }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

@Suite struct ShellHostileInputTests {
    static let shells = ["/bin/dash", "/bin/bash"].filter { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(arguments: shells)
    func quotedWordsComeBackExactlyUnderTheShell(shell: String) throws {
        var g = SplitMix64(state: 0xC1_05_7E_12)
        let words = hostileValues + (0..<400).map { _ in randomHostileString(&g) }
        let scratch = try Scratch(stubs: [])
        defer { scratch.remove() }
        let result = try scratch.run("printf '%s\\0' " + Shell.quote(words), shell: shell)
        #expect(result.status == 0, "\(result.stderr)")
        var back: [String] = []
        var word: [UInt8] = []
        for byte in result.stdout {
            if byte == 0 { back.append(String(decoding: word, as: UTF8.self)); word = [] } else { word.append(byte) }
        }
        #expect(back.count == words.count)
        for (sent, received) in zip(words, back) where sent != received {
            Issue.record("\(shell) changed \(Array(sent.unicodeScalars)) into \(Array(received.unicodeScalars)) (quoted: \(Shell.quote(sent)))")
        }
        #expect(!scratch.injected)
    }

    @Test func anApostropheWithACombiningMarkIsQuotedAsAnApostrophe() {
        // "'" + U+0301 is one Character; the old Character-wise quoting copied it raw.
        #expect(Shell.quote("a'\u{301}b") == "'a'\\''\u{301}b'")
    }

    @Test(arguments: hostileValues)
    func removeOnExitRemovesExactlyThePathsItNames(value: String) throws {
        let paths = ["/tmp/.clusterup-x", "/etc/\(value)/.f.clusterup-y"]
        let run = try Scratch.attempt(stubs: ["rm"], Shell.removeOnExit(paths) + "; true", expecting: [["rm", "-f", "--"] + paths])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.calls == [["rm", "-f", "--"] + paths], "stderr: \(run.stderr)")
        #expect(!run.injected)
    }

    @Test(arguments: hostileValues)
    func sudoInstallScriptRunsInstallAndMvOnTheIntactPaths(value: String) throws {
        let path = "/srv/\(value)/file"
        let staged = "/srv/\(value)/.file.clusterup-t"
        let install = ["install", "-m", "600", "-o", value]
        let expected = [
            install + ["--", "/tmp/.clusterup-t", staged],
            ["mv", "-f", "--", staged, path],
            ["rm", "-f", "--", "/tmp/.clusterup-t", staged],
        ]
        let run = try Scratch.attempt(stubs: ["rm", "install", "mv"],
                                      SSHConnection.sudoInstallScript(install: install, spool: "/tmp/.clusterup-t", staged: staged, path: path),
                                      expecting: expected)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.calls == expected, "stderr: \(run.stderr)")
        #expect(!run.injected)
    }

    @Test(arguments: hostileValues)
    func exportedValuesArriveIntact(value: String) throws {
        let scratch = try Scratch(stubs: ["show"])
        defer { scratch.remove() }
        let result = try scratch.run(try Shell.exportPrefix(["V": value]) + "show \"$V\"")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.calls() == [["show", value]])
        #expect(!scratch.injected)
    }

    @Test(arguments: hostileValues)
    func theFileProbeTestsOnlyThePathItIsGiven(value: String) throws {
        let scratch = try Scratch(stubs: ["sha256sum", "stat"])
        defer { scratch.remove() }
        // The scratch directory holds no such file, so the probe runs nothing but the test.
        let result = try scratch.run(RemoteFileState.probeCommand(scratch.dir + "/" + value))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.calls().isEmpty)
        #expect(!scratch.injected)
    }

    @Test(arguments: hostileValues)
    func theSudoWrapperRunsTheScriptWithItsWordsIntact(value: String) throws {
        let scratch = try Scratch(stubs: ["show"])
        defer { scratch.remove() }
        let handshake = SudoHandshake.random(password: "pw")
        let result = try scratch.run(handshake.wrap(Shell.quote(["show", value])))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.calls() == [["show", value]])
        #expect(result.stderr == String(decoding: handshake.marker, as: UTF8.self))
        #expect(!scratch.injected)
    }
}
