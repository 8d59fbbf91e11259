import ClusterupCore

/// The Debian releases a lab node can run. The host's own release boots as an overlay of `/`;
/// any other is a cached debootstrap root (see `ImageCache`).
public enum DebianRelease: String, CaseIterable, Codable, Sendable, Comparable {
    case bookworm, trixie

    public var version: Int {
        switch self {
        case .bookworm: 12
        case .trixie: 13
        }
    }

    /// `Debian 13 (trixie)`.
    public var title: String { "Debian \(version) (\(rawValue))" }

    /// systemd 257 (trixie) runs on cgroup v1 only "tainted" and systemd 258 not at all: such
    /// nodes get the unified hierarchy from nspawn even on a hybrid host.
    var needsUnifiedCgroup: Bool { self >= .trixie }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.version < rhs.version }

    /// A release by codename or number (`trixie`, `13`); bad input names the option.
    public static func parse(_ text: String, option: String = "--release") throws -> DebianRelease {
        let lowered = text.lowercased()
        if let release = DebianRelease(rawValue: lowered) ?? allCases.first(where: { "\($0.version)" == lowered }) {
            return release
        }
        throw ClusterupError.badInput(
            "unknown Debian release '\(text)'", at: option,
            hint: "use one of: \(allCases.map { "\($0.rawValue) (\($0.version))" }.joined(separator: ", "))")
    }

    /// The release named by os-release(5) text (`VERSION_CODENAME=`), nil for anything else.
    public static func fromOSRelease(_ text: String) -> DebianRelease? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .init(charactersIn: "\"' "))
            fields[String(line[..<equals])] = value
        }
        guard fields["ID"] == "debian" else { return nil }
        return fields["VERSION_CODENAME"].flatMap(DebianRelease.init(rawValue:))
    }
}

/// What a node's root filesystem is below its own overlay layer.
public enum NodeBase: Equatable, Sendable {
    /// This machine's `/` (the host runs that release).
    case hostRoot
    /// The cached image of a release other than the host's.
    case image(DebianRelease)

    /// The host's root when it runs the release asked for (or none was asked); an image otherwise.
    /// A host that is not Debian 12/13 boots its own root unless a release is asked for.
    public static func choose(requested: DebianRelease?, host: DebianRelease?) -> NodeBase {
        guard let requested, requested != host else { return .hostRoot }
        return .image(requested)
    }
}
