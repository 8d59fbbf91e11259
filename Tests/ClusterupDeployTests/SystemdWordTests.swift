import Testing
@testable import ClusterupDeploy

@Suite struct SystemdWordTests {
    @Test func plainWordsPassThrough() {
        #expect(systemdWord("--quota-backend-bytes=8589934592") == "--quota-backend-bytes=8589934592")
        #expect(systemdWord("/usr/bin/etcd") == "/usr/bin/etcd")
    }

    @Test func specifiersAndVariablesAreEscapedEverywhere() {
        // systemd would expand %n to the unit name and $HOME from the environment.
        #expect(systemdWord("--log=%n$HOME") == "--log=%%n$$HOME")
    }

    @Test func spacesAndQuotesMakeOneQuotedWord() {
        #expect(systemdWord("--header=a b") == "\"--header=a b\"")
        #expect(systemdWord(#"--x="y"\z"#) == #""--x=\"y\"\\z""#)
        #expect(systemdWord("--x=a;b") == "\"--x=a;b\"")
        #expect(systemdWord("") == "\"\"")
    }
}
