import Testing
@testable import VRRPConfig
@testable import VRRPDaemon

@Suite struct DaemonYAMLTests {
    func parse(_ text: String) throws -> YAMLNode { try YAMLSubset.parse(text) }

    func mapping(_ node: YAMLNode) -> [String: YAMLNode] {
        guard case .mapping(let entries) = node.value else { return [:] }
        return Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) })
    }

    func scalar(_ node: YAMLNode?) -> String? {
        guard let node, case .scalar(let s, _) = node.value else { return nil }
        return s
    }

    func items(_ node: YAMLNode?) -> [YAMLNode] {
        guard let node, case .sequence(let items) = node.value else { return [] }
        return items
    }

    @Test func blockMappingNestsByIndentation() throws {
        let root = try parse("a: 1\nb:\n  c: two\n  d: three\n")
        let m = mapping(root)
        #expect(scalar(m["a"]) == "1")
        #expect(scalar(mapping(m["b"]!)["d"]) == "three")
    }

    @Test func sequenceOfMappingsAtTheKeysIndentation() throws {
        let root = try parse("list:\n- name: x\n  vrid: 1\n- name: y\n")
        let list = items(mapping(root)["list"])
        #expect(list.count == 2)
        #expect(scalar(mapping(list[0])["vrid"]) == "1")
        #expect(scalar(mapping(list[1])["name"]) == "y")
    }

    @Test func flowSequenceOfQuotedAndPlainScalars() throws {
        let root = try parse("v: [a, \"b, c\", 'd''s']\n")
        #expect(items(mapping(root)["v"]).map { scalar($0) } == ["a", "b, c", "d's"])
    }

    @Test func flowMappingOfScalars() throws {
        let root = try parse("garp: {repeat: 5, delay: 0ms}\n")
        #expect(scalar(mapping(mapping(root)["garp"]!)["repeat"]) == "5")
    }

    @Test func commentsAreDroppedButHashInsideQuotesIsKept() throws {
        let root = try parse("# top\na: \"x # y\" # trailing\nb: c#d\n")
        #expect(scalar(mapping(root)["a"]) == "x # y")
        #expect(scalar(mapping(root)["b"]) == "c#d")
    }

    @Test func colonInsidePlainScalarIsNotAKey() throws {
        let root = try parse("url: http://127.0.0.1:8080/healthz\n")
        #expect(scalar(mapping(root)["url"]) == "http://127.0.0.1:8080/healthz")
    }

    @Test func doubleQuotedEscapes() throws {
        let root = try parse(#"cmd: "say \"hi\"\tnow""#)
        #expect(scalar(mapping(root)["cmd"]) == "say \"hi\"\tnow")
    }

    @Test func tabIndentationIsRejectedWithItsPosition() {
        #expect { try parse("a:\n\tb: 1\n") } throws: { e in
            (e as? YAMLSyntaxError)?.location == SourceLocation(line: 2, column: 1)
        }
    }

    @Test func duplicateKeyNamesTheFirstLine() {
        #expect { try parse("a: 1\nb: 2\na: 3\n") } throws: { e in
            guard let e = e as? YAMLSyntaxError else { return false }
            return e.location.line == 3 && e.message.contains("first at line 1")
        }
    }

    @Test func unterminatedQuoteIsReportedWhereItOpens() {
        #expect { try parse("a: 1\nb: \"open\n") } throws: { e in
            (e as? YAMLSyntaxError)?.location == SourceLocation(line: 2, column: 4)
        }
    }

    @Test func anchorsAndBlockScalarsAreRefused() {
        #expect(throws: YAMLSyntaxError.self) { try parse("a: &x 1\n") }
        #expect(throws: YAMLSyntaxError.self) { try parse("a: |\n  text\n") }
    }

    @Test func badIndentationInsideMappingIsAnError() {
        #expect { try parse("a:\n  b: 1\n    c: 2\n") } throws: { e in
            (e as? YAMLSyntaxError)?.location.line == 3
        }
    }

    @Test func emptyValueIsNull() throws {
        let root = try parse("a:\nb: 1\n")
        guard case .null = mapping(root)["a"]!.value else {
            Issue.record("expected null")
            return
        }
    }

    @Test func leadingDocumentMarkerIsAccepted() throws {
        #expect(scalar(mapping(try parse("---\na: 1\n"))["a"]) == "1")
    }

    @Test func textAfterAFlowSequenceIsAnError() {
        #expect(throws: YAMLSyntaxError.self) { try parse("a: [1, 2] 3\n") }
    }
}
