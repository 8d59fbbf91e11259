import ClusterupCore
import Testing
@testable import ClusterupSSH

@Suite struct ShellQuotingTests {
    @Test func plainWordsStayUnquoted() {
        #expect(Shell.quote("/etc/kubernetes/admin.conf") == "/etc/kubernetes/admin.conf")
        #expect(Shell.quote("a=b,c:d@e%f+g") == "a=b,c:d@e%f+g")
    }

    @Test func emptyWordBecomesEmptyQuotes() {
        #expect(Shell.quote("") == "''")
    }

    @Test func singleQuoteIsClosedEscapedAndReopened() {
        #expect(Shell.quote("it's") == #"'it'\''s'"#)
    }

    @Test func shellMetacharactersAreQuoted() {
        #expect(Shell.quote("a b") == "'a b'")
        #expect(Shell.quote("$HOME;rm -rf /") == "'$HOME;rm -rf /'")
        #expect(Shell.quote("line\nbreak") == "'line\nbreak'")
        #expect(Shell.quote("*") == "'*'")
    }

    @Test func wordListJoinsQuotedWords() {
        #expect(Shell.quote(["printf", #"%s\n"#, "a b"]) == #"printf '%s\n' 'a b'"#)
    }

    @Test func environmentBecomesSortedExports() throws {
        let prefix = try Shell.exportPrefix(["B": "two words", "A": "1"])
        #expect(prefix == "export A=1; export B='two words'; ")
    }

    @Test func invalidVariableNameIsBadInput() {
        #expect(throws: ClusterupError.self) { try Shell.exportPrefix(["1BAD": "x"]) }
        #expect(throws: ClusterupError.self) { try Shell.exportPrefix(["A;rm": "x"]) }
    }

    @Test func passwordlessSudoUsesNonInteractiveFlag() {
        let wrapped = Shell.sudo("echo 'hi'", mode: .passwordless, password: nil)
        #expect(wrapped.command == #"sudo -n -- sh -c 'echo '\''hi'\'''"#)
        #expect(wrapped.handshake == nil)
    }

    @Test func sudoPasswordGoesToTheHandshakeNotToTheCommand() throws {
        let wrapped = Shell.sudo("id -u", mode: .password(env: "P"), password: "s3cret")
        let handshake = try #require(wrapped.handshake)
        #expect(!wrapped.command.contains("s3cret"))
        #expect(wrapped.command.hasPrefix("sudo -k -S -p "))
        #expect(wrapped.command.contains(Shell.quote(String(decoding: handshake.prompt, as: UTF8.self))))
        #expect(!String(decoding: handshake.prompt, as: UTF8.self).contains("%"))
    }
}
