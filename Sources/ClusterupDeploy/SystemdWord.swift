/// One word of a systemd `ExecStart=` line, meaning exactly `text` to the program: systemd
/// expands `%` specifiers and `$VAR` references and splits on spaces and quotes, so a flag value
/// from the inventory is escaped for all three (systemd.service(5), "Command lines";
/// systemd.unit(5), "Specifiers").
func systemdWord(_ text: String) -> String {
    var escaped = ""
    var needsQuotes = text.isEmpty
    for scalar in text.unicodeScalars {
        switch scalar {
        case "%": escaped += "%%"
        case "$": escaped += "$$"
        case "\\": escaped += "\\\\"; needsQuotes = true
        case "\"": escaped += "\\\""; needsQuotes = true
        case " ", "'", ";": escaped.unicodeScalars.append(scalar); needsQuotes = true
        default: escaped.unicodeScalars.append(scalar)
        }
    }
    return needsQuotes ? "\"" + escaped + "\"" : escaped
}
