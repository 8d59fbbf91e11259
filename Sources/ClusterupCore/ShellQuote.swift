/// Quotes a word for a POSIX shell: safe words pass through, anything else is single-quoted
/// with embedded single quotes written as '\''.
///
/// Works on UTF-8 bytes, not on `Character`s: an apostrophe followed by a combining mark is one
/// grapheme cluster that is not equal to "'", yet the shell sees the apostrophe byte and ends the
/// quoted word there. Byte 0x27 never occurs inside a multi-byte UTF-8 sequence, so inserting the
/// ASCII escape between bytes keeps the text valid. A NUL cannot be passed to a shell at all (argv
/// and the SSH exec request end at it); inventory values with control characters are refused when
/// read.
public func shellQuote(_ word: String) -> String {
    let bytes = word.utf8
    if !bytes.isEmpty && bytes.allSatisfy(isShellSafe) { return word }
    var quoted: [UInt8] = [0x27]
    quoted.reserveCapacity(bytes.count + 2)
    for byte in bytes {
        if byte == 0x27 { quoted += [0x27, 0x5C, 0x27, 0x27] } else { quoted.append(byte) }
    }
    quoted.append(0x27)
    return String(decoding: quoted, as: UTF8.self)
}

/// Bytes that mean nothing special to sh in any position of a word.
private func isShellSafe(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: ","),
         UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "-"):
        return true
    default:
        return false
    }
}
