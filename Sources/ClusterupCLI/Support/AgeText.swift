import Foundation

/// How old something is, for people: "42 s", "17 min", "5 h 3 min", "12 days" (snapshots).
enum AgeText {
    static func describe(_ seconds: TimeInterval) -> String {
        let s = Int(max(0, seconds))
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 172_800 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) days"
    }
}
