import Foundation
import Yams

/// A YAML node together with where it is: file, line, column, field path and the host it belongs to.
/// Every typed read goes through here, so every error names all of them in the same shape.
struct YAMLField {
    let node: Node
    /// Field path like `hosts[1].roles[0]`; empty for the document root.
    let path: String
    /// The file as the user named it, for messages.
    let file: String
    /// The host whose entry this field is inside, for messages.
    var host: String?

    var location: String {
        guard let mark = node.mark else { return file }
        return "\(file):\(mark.line):\(mark.column)"
    }

    func error(_ message: String, hint: String? = nil) -> ClusterupError {
        var text = path.isEmpty ? message : "\(path): \(message)"
        if let host { text += " (host \(host))" }
        return .badInput(text, at: location, hint: hint)
    }

    func child(_ key: String, _ node: Node) -> YAMLField {
        YAMLField(node: node, path: path.isEmpty ? key : "\(path).\(key)", file: file, host: host)
    }

    func element(_ index: Int, _ node: Node) -> YAMLField {
        YAMLField(node: node, path: "\(path)[\(index)]", file: file, host: host)
    }

    // MARK: Typed reads

    /// `key:` with nothing after it, or `~` / `null`.
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private var kindName: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar: "'\(node.string ?? "")'"
        case .alias: "an alias"
        }
    }

    func string() throws(ClusterupError) -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw error("expected a string, got \(isNull ? "nothing" : kindName)")
        }
        // No inventory value is multi-line or holds control characters: they end lines in units and
        // configuration files, and split or end words in remote commands.
        if let bad = scalar.string.unicodeScalars.first(where: { $0.properties.generalCategory == .control
            || $0.properties.generalCategory == .lineSeparator || $0.properties.generalCategory == .paragraphSeparator }) {
            let code = String(bad.value, radix: 16, uppercase: true)
            throw error("holds the control character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code)",
                        hint: "remove it: inventory values may not contain line breaks, tabs or other control characters")
        }
        return scalar.string
    }

    func nonEmptyString() throws(ClusterupError) -> String {
        let value = try string()
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw error("must not be empty") }
        return value
    }

    func int(in range: ClosedRange<Int>, what: String = "an integer") throws(ClusterupError) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error("expected \(what) \(range.lowerBound)..\(range.upperBound), got \(kindName)")
        }
        guard range.contains(value) else {
            throw error("\(value) is out of range: expected \(what) \(range.lowerBound)..\(range.upperBound)")
        }
        return value
    }

    func bool() throws(ClusterupError) -> Bool {
        // Quoted "true" is a string to YAML, but nobody means it as one here.
        if case .scalar(let scalar) = node {
            switch scalar.string.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        throw error("expected true or false, got \(kindName)")
    }

    func duration() throws(ClusterupError) -> Duration {
        guard case .scalar(let scalar) = node, let value = Duration(inventoryText: scalar.string) else {
            throw error(
                "expected a duration, got \(kindName)",
                hint: "write a whole number and a unit: 100ms, 1s, 5m, 8760h, 365d")
        }
        return value
    }

    /// A size in bytes: a whole number with an optional unit, 512MiB, 2GiB, 500MB, 4096.
    func byteSize() throws(ClusterupError) -> Int64 {
        let units: [(String, Int64)] = [
            ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
            ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1000), ("KB", 1000), ("B", 1),
        ]
        if case .scalar(let scalar) = node {
            let text = scalar.string.trimmingCharacters(in: .whitespaces)
            let unit = units.first { text.hasSuffix($0.0) } ?? ("", 1)
            let digits = text.dropLast(unit.0.count).trimmingCharacters(in: .whitespaces)
            if !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int64(digits) {
                let (bytes, overflow) = value.multipliedReportingOverflow(by: unit.1)
                if !overflow { return bytes }
            }
        }
        throw error("expected a size, got \(kindName)", hint: "write a whole number and a unit: 512MiB, 2GiB, 500MB (or bytes: 1048576)")
    }

    /// A number of seconds, or a duration with a unit ("10" and "10s" both mean ten seconds).
    func seconds() throws(ClusterupError) -> Duration {
        if case .scalar(let scalar) = node, let whole = Int(scalar.string) {
            guard whole >= 0 else { throw error("must not be negative") }
            return .seconds(whole)
        }
        return try duration()
    }

    /// One of a fixed set of spellings.
    func oneOf<Value: RawRepresentable & CaseIterable>(_: Value.Type, what: String) throws(ClusterupError) -> Value
    where Value.RawValue == String {
        let text = try string()
        if let value = Value(rawValue: text) { return value }
        let names = Value.allCases.map(\.rawValue)
        throw error("unknown \(what) '\(text)'", hint: suggestion(for: text, among: names, listing: what))
    }

    func sequence() throws(ClusterupError) -> [YAMLField] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw error("expected a list, got \(kindName)") }
        return sequence.enumerated().map { element($0.offset, $0.element) }
    }

    func stringList() throws(ClusterupError) -> [String] {
        var values: [String] = []
        for item in try sequence() { values.append(try item.nonEmptyString()) }
        return values
    }

    /// A mapping whose keys must all be in `allowed`; a null node reads as an empty mapping.
    /// `allowed: nil` accepts any key (maps keyed by host name).
    func mapping(allowed: [String]?) throws(ClusterupError) -> YAMLMapping {
        try YAMLMapping(self, allowed: allowed)
    }
}

/// A mapping checked against its allowed keys, read by key.
struct YAMLMapping {
    let field: YAMLField
    /// Keys in document order with their fields.
    let entries: [(key: String, keyField: YAMLField, value: YAMLField)]

    init(_ field: YAMLField, allowed: [String]?) throws(ClusterupError) {
        self.field = field
        if field.isNull {
            entries = []
            return
        }
        guard case .mapping(let mapping) = field.node else {
            throw field.error("expected a mapping (key: value lines), got \(field.node.string.map { "'\($0)'" } ?? "a list")")
        }
        var entries: [(key: String, keyField: YAMLField, value: YAMLField)] = []
        for (keyNode, valueNode) in mapping {
            let keyField = YAMLField(node: keyNode, path: field.path, file: field.file, host: field.host)
            guard case .scalar(let scalar) = keyNode else { throw keyField.error("keys must be plain words") }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                throw keyField.error(
                    "unknown key '\(key)'",
                    hint: suggestion(for: key, among: allowed, listing: "keys here"))
            }
            entries.append((key, keyField, field.child(key, valueNode)))
        }
        self.entries = entries
    }

    /// The value under `key`, or nil when absent or null.
    subscript(key: String) -> YAMLField? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    func required(_ key: String) throws(ClusterupError) -> YAMLField {
        if let value = self[key] { return value }
        if entries.contains(where: { $0.key == key }) {
            throw field.child(key, entries.first { $0.key == key }!.value.node).error("needs a value")
        }
        throw field.error("missing required key '\(key)'")
    }
}

/// "did you mean 'x'?" when a candidate is close enough, else the list of valid spellings.
func suggestion(for word: String, among candidates: [String], listing what: String) -> String {
    let list = "\(what): \(candidates.joined(separator: ", "))"
    guard let best = closestMatch(to: word, among: candidates) else { return list }
    return "did you mean '\(best)'? (\(list))"
}

func closestMatch(to word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { (candidate: $0, distance: editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
    // Allow about one typo per three letters, at least two.
    return best.distance <= max(2, word.count / 3) ? best.candidate : nil
}

/// Levenshtein distance: insertions, deletions and substitutions each cost one.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

extension Character {
    /// 0-9 only (`isNumber` alone also takes other scripts' digits and fractions); read by the
    /// inventory's number fields and by version parsing in ClusterupDeploy.
    public var isASCIIDigit: Bool { isASCII && isNumber }
}
