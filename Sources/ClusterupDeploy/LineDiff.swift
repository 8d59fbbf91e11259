/// A unified diff of two texts, for `deploy --dry-run`. Files deploy renders are small (tens to
/// hundreds of lines), so the quadratic longest-common-subsequence table is cheap and simple.
public func unifiedDiff(old: String, new: String, path: String, context: Int = 3) -> String {
    let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if a == b { return "" }

    // lcs[i][j]: length of the LCS of a[i...] and b[j...].
    var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in stride(from: a.count - 1, through: 0, by: -1) {
        for j in stride(from: b.count - 1, through: 0, by: -1) {
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
        }
    }
    enum Edit { case same(String), removed(String), added(String) }
    var edits: [Edit] = []
    var i = 0, j = 0
    while i < a.count || j < b.count {
        if i < a.count, j < b.count, a[i] == b[j] {
            edits.append(.same(a[i])); i += 1; j += 1
        } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
            edits.append(.removed(a[i])); i += 1
        } else {
            edits.append(.added(b[j])); j += 1
        }
    }

    // Group changes into hunks with `context` unchanged lines around them.
    let changed = edits.indices.filter { if case .same = edits[$0] { return false } else { return true } }
    var hunks: [(Int, Int)] = []
    for index in changed {
        let start = max(0, index - context), end = min(edits.count, index + context + 1)
        if let last = hunks.last, start <= last.1 {
            hunks[hunks.count - 1].1 = max(last.1, end)
        } else {
            hunks.append((start, end))
        }
    }
    var out = "--- \(path) (on host)\n+++ \(path) (deploy)\n"
    for (start, end) in hunks {
        var oldLine = 1, newLine = 1
        for edit in edits[..<start] {
            switch edit {
            case .same: oldLine += 1; newLine += 1
            case .removed: oldLine += 1
            case .added: newLine += 1
            }
        }
        var body = "", oldCount = 0, newCount = 0
        for edit in edits[start..<end] {
            switch edit {
            case .same(let line): body += " \(line)\n"; oldCount += 1; newCount += 1
            case .removed(let line): body += "-\(line)\n"; oldCount += 1
            case .added(let line): body += "+\(line)\n"; newCount += 1
            }
        }
        out += "@@ -\(oldLine),\(oldCount) +\(newLine),\(newCount) @@\n" + body
    }
    return out
}
