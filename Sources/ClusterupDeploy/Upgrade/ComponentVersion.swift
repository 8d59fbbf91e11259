import ClusterupCore

/// The programs a rolling upgrade changes, named as the inventory's `artifacts` names them.
public enum UpgradeComponent: String, Sendable, CaseIterable, Comparable, Codable {
    case etcd
    case kubeAPIServer = "kube-apiserver"
    case kubeControllerManager = "kube-controller-manager"
    case kubeScheduler = "kube-scheduler"
    case haproxy
    case keepalived
    case clusterupVRRPD = "clusterup-vrrpd"

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public var isKubernetes: Bool { self == .kubeAPIServer || self == .kubeControllerManager || self == .kubeScheduler }

    /// How the program tells its version: `haproxy -v`, the others `--version`.
    var versionFlag: String { self == .haproxy ? "-v" : "--version" }
}

/// A release number `major.minor.patch` read from what a program prints, with the text it came
/// from: `Kubernetes v1.31.2`, `etcd Version: 3.4.23`, `HAProxy version 2.6.12-1+deb12u1 …`,
/// `Keepalived v2.2.7 (01/16,2022)`, `clusterup-vrrpd 0.1.0`. Suffixes (Debian revisions,
/// pre-release tags) are kept in `text` and ignored in comparisons: the skew rules speak of
/// minor versions, and a rebuild with the same number is not an upgrade.
public struct ComponentVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// The version as written, `v1.31.2` or `2.6.12-1+deb12u1`.
    public var text: String

    public init(major: Int, minor: Int, patch: Int, text: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.text = text ?? "\(major).\(minor).\(patch)"
    }

    /// The first `[v]MAJOR.MINOR[.PATCH]` in `output` (a missing patch is 0), or nil.
    public init?(parsing output: some StringProtocol) {
        let chars = Array(output)
        var i = 0
        while i < chars.count {
            // A number starts at a digit that does not continue a word (`sha256` is no version).
            let startsWord = i == 0 || !(chars[i - 1].isLetter || chars[i - 1].isNumber || chars[i - 1] == ".")
                || (chars[i - 1] == "v" && (i == 1 || !(chars[i - 2].isLetter || chars[i - 2].isNumber)))
            if chars[i].isASCIIDigit, startsWord, let parsed = Self.numbers(chars, from: i) {
                var end = parsed.end
                while end < chars.count, !chars[end].isWhitespace, chars[end] != "(", chars[end] != "," { end += 1 }
                let start = i > 0 && chars[i - 1] == "v" ? i - 1 : i
                self.init(major: parsed.numbers[0], minor: parsed.numbers[1], patch: parsed.numbers.count > 2 ? parsed.numbers[2] : 0,
                          text: String(chars[start..<end]))
                return
            }
            i += 1
        }
        return nil
    }

    /// Two or three dot-separated numbers from `start`.
    private static func numbers(_ chars: [Character], from start: Int) -> (numbers: [Int], end: Int)? {
        var numbers: [Int] = []
        var i = start
        while numbers.count < 3 {
            var digits = ""
            while i < chars.count, chars[i].isASCIIDigit { digits.append(chars[i]); i += 1 }
            guard let number = Int(digits), digits.count <= 9 else { break }
            numbers.append(number)
            guard numbers.count < 3, i + 1 < chars.count, chars[i] == ".", chars[i + 1].isASCIIDigit else { break }
            i += 1
        }
        return numbers.count >= 2 ? (numbers, i) : nil
    }

    /// `1.31`: what the skew rules compare.
    public var minorText: String { "\(major).\(minor)" }

    public var description: String { text }

    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    /// Same release number, whatever the suffix.
    public func sameRelease(_ other: Self) -> Bool { (major, minor, patch) == (other.major, other.minor, other.patch) }

    public static func == (a: Self, b: Self) -> Bool { a.sameRelease(b) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
    }

    /// Minor versions from `self` to `other` within one major version (negative: older).
    func minorsTo(_ other: Self) -> Int { other.minor - minor }
}

