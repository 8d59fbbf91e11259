// A strict subset of YAML, enough for the daemon's configuration file. The daemon cannot link
// Yams (it pulls Foundation), so this reads: block mappings, block sequences, flow sequences and
// flow mappings of scalars, single/double-quoted and plain scalars, comments and a leading
// `---`. Anything else (anchors, tags, block scalars, multi-line flow) is refused with its
// line and column rather than guessed at.

/// A position in the source text, 1-based.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
}

public struct YAMLNode: Sendable {
    public indirect enum Value: Sendable {
        /// `quoted` scalars are always strings; plain ones may be numbers or booleans.
        case scalar(String, quoted: Bool)
        case mapping([(key: String, keyLocation: SourceLocation, value: YAMLNode)])
        case sequence([YAMLNode])
        case null
    }
    public var value: Value
    public var location: SourceLocation
}

public struct YAMLSyntaxError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public var description: String { "\(location): \(message)" }
}

public enum YAMLSubset {
    /// Parses one document. An empty document is `.null`.
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode {
        var parser = BlockParser(lines: try scanLines(text))
        guard parser.index < parser.lines.count else {
            return YAMLNode(value: .null, location: SourceLocation(line: 1, column: 1))
        }
        let first = parser.lines[parser.index]
        let node = try parser.parseBlock(indent: first.indent)
        if parser.index < parser.lines.count {
            let line = parser.lines[parser.index]
            throw YAMLSyntaxError(
                location: SourceLocation(line: line.number, column: line.indent + 1),
                message: "unexpected indentation (expected column \(first.indent + 1))")
        }
        return node
    }

    /// A non-blank source line with comment stripped.
    struct Line {
        var number: Int
        var indent: Int
        /// Content after the indentation, without trailing comment or whitespace.
        var text: Substring
    }

    static func scanLines(_ text: String) throws(YAMLSyntaxError) -> [Line] {
        var result: [Line] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var rawLine = raw
            if rawLine.last == "\r" { rawLine = rawLine.dropLast() }
            var indent = 0
            var rest = rawLine[...]
            while let c = rest.first, c == " " || c == "\t" {
                if c == "\t" {
                    throw YAMLSyntaxError(location: SourceLocation(line: number, column: indent + 1),
                                          message: "tab in indentation; indent with spaces")
                }
                indent += 1
                rest = rest.dropFirst()
            }
            let content = try stripComment(rest, line: number, column: indent + 1)
            if content.isEmpty { continue }
            if number == 1 || result.isEmpty, content == "---" { continue }
            if content == "---" || content == "..." {
                throw YAMLSyntaxError(location: SourceLocation(line: number, column: indent + 1),
                                      message: "only one YAML document is allowed")
            }
            result.append(Line(number: number, indent: indent, text: content))
        }
        return result
    }

    /// Drops a `#` comment (outside quotes) and trailing spaces.
    static func stripComment(_ s: Substring, line: Int, column: Int) throws(YAMLSyntaxError) -> Substring {
        var quote: Character? = nil
        var previous: Character = " "
        var end = s.endIndex
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let q = quote {
                if c == q {
                    // '' inside single quotes is an escaped quote, not the end.
                    let next = s.index(after: i)
                    if q == "'", next < s.endIndex, s[next] == "'" {
                        i = s.index(after: next)
                        previous = c
                        continue
                    }
                    quote = nil
                } else if c == "\\", q == "\"" {
                    i = s.index(after: i)
                    if i < s.endIndex { i = s.index(after: i) }
                    continue
                }
            } else if c == "#", previous == " " || previous == "\t" {
                end = i
                break
            } else if c == "\"" || c == "'", previous == " " || previous == "[" || previous == "{"
                        || previous == "," || previous == ":" || previous == "-" || i == s.startIndex {
                quote = c
            }
            previous = c
            i = s.index(after: i)
        }
        var out = s[s.startIndex..<end]
        while let last = out.last, last == " " || last == "\t" { out = out.dropLast() }
        return out
    }

    struct BlockParser {
        var lines: [Line]
        var index = 0

        mutating func parseBlock(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
            let line = lines[index]
            if isSequenceEntry(line.text) {
                return try parseSequence(indent: indent)
            }
            if try splitKey(line) != nil {
                return try parseMapping(indent: indent)
            }
            // A lone scalar or flow collection on its own line.
            index += 1
            return try parseInlineValue(line.text, line: line.number, column: line.indent + 1)
        }

        func isSequenceEntry(_ text: Substring) -> Bool {
            text == "-" || text.hasPrefix("- ")
        }

        mutating func parseSequence(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
            let start = lines[index]
            var items: [YAMLNode] = []
            while index < lines.count {
                let line = lines[index]
                if line.indent < indent { break }
                if line.indent > indent {
                    throw YAMLSyntaxError(location: SourceLocation(line: line.number, column: line.indent + 1),
                                          message: "unexpected indentation inside a sequence")
                }
                guard isSequenceEntry(line.text) else { break }
                let afterDash = line.text.dropFirst().drop(while: { $0 == " " })
                if afterDash.isEmpty {
                    index += 1
                    if index < lines.count, lines[index].indent > indent {
                        items.append(try parseBlock(indent: lines[index].indent))
                    } else {
                        items.append(YAMLNode(value: .null, location: SourceLocation(line: line.number, column: indent + 1)))
                    }
                    continue
                }
                // "- key: value" opens a mapping whose keys sit at the column after the dash.
                let contentIndent = indent + (line.text.count - afterDash.count)
                lines[index] = Line(number: line.number, indent: contentIndent, text: afterDash)
                items.append(try parseBlock(indent: contentIndent))
            }
            return YAMLNode(value: .sequence(items), location: SourceLocation(line: start.number, column: indent + 1))
        }

        mutating func parseMapping(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
            let start = lines[index]
            var entries: [(key: String, keyLocation: SourceLocation, value: YAMLNode)] = []
            var seen: [String: SourceLocation] = [:]
            while index < lines.count {
                let line = lines[index]
                if line.indent < indent { break }
                if line.indent > indent {
                    throw YAMLSyntaxError(location: SourceLocation(line: line.number, column: line.indent + 1),
                                          message: "unexpected indentation inside a mapping")
                }
                guard let (key, rest, restColumn) = try splitKey(line) else {
                    throw YAMLSyntaxError(location: SourceLocation(line: line.number, column: line.indent + 1),
                                          message: "expected 'key: value'")
                }
                let keyLocation = SourceLocation(line: line.number, column: line.indent + 1)
                if let previous = seen[key] {
                    throw YAMLSyntaxError(location: keyLocation,
                                          message: "duplicate key '\(key)' (first at line \(previous.line))")
                }
                seen[key] = keyLocation
                index += 1
                let value: YAMLNode
                if !rest.isEmpty {
                    value = try parseInlineValue(rest, line: line.number, column: restColumn)
                } else if index < lines.count, lines[index].indent > indent
                            || (lines[index].indent == indent && isSequenceEntry(lines[index].text)) {
                    value = try parseBlock(indent: lines[index].indent)
                } else {
                    value = YAMLNode(value: .null, location: SourceLocation(line: line.number, column: restColumn))
                }
                entries.append((key, keyLocation, value))
            }
            return YAMLNode(value: .mapping(entries), location: SourceLocation(line: start.number, column: indent + 1))
        }

        /// Splits "key: rest" (or "key:"), returning the key, the rest and the rest's column.
        func splitKey(_ line: Line) throws(YAMLSyntaxError) -> (String, Substring, Int)? {
            let text = line.text
            var keyEnd: Substring.Index
            var key: String
            if let q = text.first, q == "\"" || q == "'" {
                var cursor = ScalarCursor(text: text, line: line.number, column: line.indent + 1)
                guard let parsed = try? cursor.quoted(), cursor.rest.first == ":" else { return nil }
                key = parsed
                keyEnd = cursor.rest.startIndex
            } else {
                guard let colon = firstMappingColon(text) else { return nil }
                keyEnd = colon
                key = String(text[text.startIndex..<colon])
                if key.first == "[" || key.first == "{" { return nil }
            }
            let afterColon = text.index(after: keyEnd)
            let rest = text[afterColon...].drop(while: { $0 == " " })
            if key.isEmpty {
                throw YAMLSyntaxError(location: SourceLocation(line: line.number, column: line.indent + 1),
                                      message: "empty mapping key")
            }
            let column = line.indent + 1 + text.distance(from: text.startIndex, to: rest.startIndex)
            return (key, rest, column)
        }

        /// The first ':' followed by a space or the end of the line.
        func firstMappingColon(_ text: Substring) -> Substring.Index? {
            var i = text.startIndex
            while i < text.endIndex {
                if text[i] == ":" {
                    let next = text.index(after: i)
                    if next == text.endIndex || text[next] == " " { return i }
                }
                i = text.index(after: i)
            }
            return nil
        }

        func parseInlineValue(_ text: Substring, line: Int, column: Int) throws(YAMLSyntaxError) -> YAMLNode {
            var cursor = ScalarCursor(text: text, line: line, column: column)
            let node = try cursor.value(inFlow: false)
            cursor.skipSpaces()
            if !cursor.rest.isEmpty {
                throw YAMLSyntaxError(location: cursor.location,
                                      message: "unexpected text after value: '\(cursor.rest)'")
            }
            return node
        }
    }

    /// Reads inline values (scalars and flow collections) from one line.
    struct ScalarCursor {
        var rest: Substring
        let line: Int
        let startColumn: Int
        let original: Substring

        init(text: Substring, line: Int, column: Int) {
            rest = text
            original = text
            self.line = line
            startColumn = column
        }

        var location: SourceLocation {
            SourceLocation(line: line, column: startColumn + original.distance(from: original.startIndex, to: rest.startIndex))
        }

        func error(_ message: String) -> YAMLSyntaxError { YAMLSyntaxError(location: location, message: message) }

        mutating func skipSpaces() { rest = rest.drop(while: { $0 == " " }) }

        mutating func value(inFlow: Bool) throws(YAMLSyntaxError) -> YAMLNode {
            skipSpaces()
            let at = location
            guard let c = rest.first else {
                return YAMLNode(value: .null, location: at)
            }
            switch c {
            case "[": return try flowSequence()
            case "{": return try flowMapping()
            case "\"", "'": return YAMLNode(value: .scalar(try quoted(), quoted: true), location: at)
            case "&", "*", "!", "|", ">", "%", "@", "`":
                throw error("'\(c)' (anchors, aliases, tags, block scalars) is not supported here; quote the value")
            default:
                return YAMLNode(value: .scalar(plain(inFlow: inFlow), quoted: false), location: at)
            }
        }

        mutating func plain(inFlow: Bool) -> String {
            var end = rest.startIndex
            var i = rest.startIndex
            while i < rest.endIndex {
                let ch = rest[i]
                if inFlow, ch == "," || ch == "]" || ch == "}" { break }
                if inFlow, ch == ":" {
                    let next = rest.index(after: i)
                    if next == rest.endIndex || rest[next] == " " { break }
                }
                i = rest.index(after: i)
                if ch != " " { end = i }
            }
            let s = String(rest[rest.startIndex..<end])
            rest = rest[end...]
            return s
        }

        mutating func quoted() throws(YAMLSyntaxError) -> String {
            let q = rest.first!
            let open = location
            rest = rest.dropFirst()
            var out = ""
            while let c = rest.first {
                rest = rest.dropFirst()
                if c == q {
                    if q == "'", rest.first == "'" {
                        out.append("'")
                        rest = rest.dropFirst()
                        continue
                    }
                    return out
                }
                if c == "\\", q == "\"" {
                    guard let e = rest.first else { break }
                    rest = rest.dropFirst()
                    switch e {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "\\": out.append("\\")
                    case "\"": out.append("\"")
                    case "/": out.append("/")
                    case "0": out.append("\0")
                    case "r": out.append("\r")
                    case "x": out.unicodeScalars.append(try hexScalar(digits: 2))
                    case "u": out.unicodeScalars.append(try hexScalar(digits: 4))
                    case "U": out.unicodeScalars.append(try hexScalar(digits: 8))
                    default: throw error("unsupported escape '\\\(e)'")
                    }
                    continue
                }
                out.append(c)
            }
            throw YAMLSyntaxError(location: open, message: "unterminated quoted string (strings must stay on one line)")
        }

        /// The hex digits of a `\\x`, `\\u` or `\\U` escape (YAML 1.2), which deploy uses for
        /// every character outside printable ASCII.
        mutating func hexScalar(digits: Int) throws(YAMLSyntaxError) -> Unicode.Scalar {
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard let c = rest.first, let digit = c.hexDigitValue, c.isASCII else {
                    throw error("expected \(digits) hex digits in an escape")
                }
                value = value * 16 + UInt32(digit)
                rest = rest.dropFirst()
            }
            guard let scalar = Unicode.Scalar(value) else { throw error("escape names no Unicode scalar") }
            return scalar
        }

        mutating func flowSequence() throws(YAMLSyntaxError) -> YAMLNode {
            let at = location
            rest = rest.dropFirst()
            var items: [YAMLNode] = []
            skipSpaces()
            if rest.first == "]" {
                rest = rest.dropFirst()
                return YAMLNode(value: .sequence([]), location: at)
            }
            while true {
                skipSpaces()
                if rest.isEmpty { throw YAMLSyntaxError(location: at, message: "unterminated '[' (flow sequences must stay on one line)") }
                items.append(try value(inFlow: true))
                skipSpaces()
                guard let c = rest.first else { throw YAMLSyntaxError(location: at, message: "unterminated '['") }
                rest = rest.dropFirst()
                if c == "]" { return YAMLNode(value: .sequence(items), location: at) }
                if c != "," { throw error("expected ',' or ']' in flow sequence") }
            }
        }

        mutating func flowMapping() throws(YAMLSyntaxError) -> YAMLNode {
            let at = location
            rest = rest.dropFirst()
            var entries: [(key: String, keyLocation: SourceLocation, value: YAMLNode)] = []
            var seen = Set<String>()
            skipSpaces()
            if rest.first == "}" {
                rest = rest.dropFirst()
                return YAMLNode(value: .mapping([]), location: at)
            }
            while true {
                skipSpaces()
                if rest.isEmpty { throw YAMLSyntaxError(location: at, message: "unterminated '{' (flow mappings must stay on one line)") }
                let keyAt = location
                let keyNode = try value(inFlow: true)
                guard case .scalar(let key, _) = keyNode.value, !key.isEmpty else { throw YAMLSyntaxError(location: keyAt, message: "expected a key") }
                skipSpaces()
                guard rest.first == ":" else { throw error("expected ':' after key '\(key)'") }
                rest = rest.dropFirst()
                if !seen.insert(key).inserted { throw YAMLSyntaxError(location: keyAt, message: "duplicate key '\(key)'") }
                let v = try value(inFlow: true)
                entries.append((key, keyAt, v))
                skipSpaces()
                guard let c = rest.first else { throw YAMLSyntaxError(location: at, message: "unterminated '{'") }
                rest = rest.dropFirst()
                if c == "}" { return YAMLNode(value: .mapping(entries), location: at) }
                if c != "," { throw error("expected ',' or '}' in flow mapping") }
            }
        }
    }
}
