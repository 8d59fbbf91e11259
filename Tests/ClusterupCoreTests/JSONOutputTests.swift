import ClusterupCore
import Foundation
import Testing

/// The one JSON writer (TextFormats' `JSONValue`), which writes both `--output json` and
/// clusterup-vrrpd's status: what it writes reads back through Foundation's parser (the reader of
/// `clusterup-vrrpd status` on the command line) as the values it was given.
@Suite struct JSONOutputTests {
    func readBack(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func everyCharacterThatNeedsEscapingReadsBackUnchanged() throws {
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        let text = controls + "\"quoted\" back\\slash /slash \u{7F} é 語 🦆"
        for json in [JSONValue.string(text).compact, JSONValue.object([(text, .string(text))]).pretty] {
            #expect(!json.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "raw control character in \(json)")
            let value = try readBack(json)
            let read = (value as? String) ?? (value as? [String: String])?[text]
            #expect(read == text)
        }
    }

    @Test func controlCharactersWithoutAShortFormAreWrittenAsFourHexDigits() {
        #expect(JSONValue.string("\u{0}\u{1F}\u{8}\u{C}").compact == #""\u0000\u001f\u0008\u000c""#)
        #expect(JSONValue.string("\n\r\t").compact == #""\n\r\t""#)
    }

    @Test(arguments: [0.0, 1.5, -2.25, 1e-7, 1e21, 123456789.123, 0.1])
    func doublesReadBackExactly(_ value: Double) throws {
        let read = try #require(try readBack(JSONValue.array([.double(value)]).compact) as? [NSNumber])
        #expect(read.first?.doubleValue == value)
    }

    @Test func integersKeepAllTheirDigits() throws {
        let read = try #require(try readBack(JSONValue.array([.int(.max), .int(.min)]).compact) as? [NSNumber])
        #expect(read.map(\.int64Value) == [.max, .min])
    }

    @Test func nonFiniteNumbersAreNull() {
        #expect(JSONValue.array([.double(.infinity), .double(.nan)]).compact == "[null,null]")
    }

    @Test func prettyAndCompactSayTheSameInTheSameOrder() throws {
        let doc = JSONValue.object([("z", .int(1)), ("a", .array([.bool(true), .null, .object([])])), ("m", .string("x"))])
        #expect(doc.compact == #"{"z":1,"a":[true,null,{}],"m":"x"}"#)
        #expect(doc.pretty == "{\n  \"z\": 1,\n  \"a\": [\n    true,\n    null,\n    {}\n  ],\n  \"m\": \"x\"\n}")
        #expect(try readBack(doc.pretty) as? NSDictionary == readBack(doc.compact) as? NSDictionary)
    }
}
