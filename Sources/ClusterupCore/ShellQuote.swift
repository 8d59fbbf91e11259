/// Quotes a word for a POSIX shell: safe words pass through, anything else is single-quoted
/// with embedded single quotes written as '\''.
public func shellQuote(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "@%+=:,./_-".contains($0)) }
    if safe && !word.isEmpty { return word }
    var quoted = "'"
    for character in word {
        quoted += character == "'" ? "'\\''" : String(character)
    }
    return quoted + "'"
}
