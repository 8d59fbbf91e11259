/// A deploy that changes the hosts (`wet`) or only tells what it would change (`dry`,
/// `--dry-run`). As k0sctl's `Wet`: every change a phase announces, makes or leaves out is worded
/// here, so "would …" is spelled once, and a change made through `perform` cannot happen in a
/// dry run.
public enum RunMode: Sendable, Equatable {
    case wet
    case dry

    public init(dryRun: Bool) {
        self = dryRun ? .dry : .wet
    }

    public var isDry: Bool { self == .dry }

    /// A change the plan lists before it is made: "add member node4 (…)"; in a dry run "would add
    /// member node4 (…)".
    public func planned(_ verb: Verb, _ object: String) -> String {
        isDry ? "would \(verb.base) \(object)" : "\(verb.base) \(object)"
    }

    /// A change under way: "changing 6 item(s) on 3 host(s)"; in a dry run "would change …".
    public func ongoing(_ verb: Verb, _ object: String) -> String {
        isDry ? "would \(verb.base) \(object)" : "\(verb.progressive) \(object)"
    }

    /// A change made: "created CA etcd-ca"; in a dry run (nothing made, or only in a scratch copy)
    /// "would create CA etcd-ca".
    public func made(_ verb: Verb, _ object: String) -> String {
        isDry ? "would \(verb.base) \(object)" : "\(verb.past) \(object)"
    }

    /// Makes a change in a real run (telling `progress` what it is doing first) and returns what
    /// it made; in a dry run makes nothing and returns what it would make.
    public func perform(_ verb: Verb, _ object: String, progress: (String) -> Void = { _ in },
                        _ change: () throws -> Void) rethrows -> String {
        if !isDry {
            progress("\(verb.progressive) \(object)")
            try change()
        }
        return made(verb, object)
    }

    /// Why a phase that changes hosts, or checks what such phases did, does not run; nil in a real run.
    public var skipReason: String? { isDry ? "dry run" : nil }
}

/// The forms of a verb deploy's reports use, spelled once (no "\(verb)ed" guesses).
public struct Verb: Sendable, Equatable {
    /// "add": after "would", and in a plan's list.
    public var base: String
    /// "added": what was done.
    public var past: String
    /// "adding": what is under way.
    public var progressive: String

    public init(_ base: String, past: String, progressive: String) {
        self.base = base
        self.past = past
        self.progressive = progressive
    }

    public static let add = Verb("add", past: "added", progressive: "adding")
    public static let remove = Verb("remove", past: "removed", progressive: "removing")
    public static let bootstrap = Verb("bootstrap", past: "bootstrapped", progressive: "bootstrapping")
    public static let change = Verb("change", past: "changed", progressive: "changing")
    public static let create = Verb("create", past: "created", progressive: "creating")
    public static let update = Verb("update", past: "updated", progressive: "updating")
    public static let set = Verb("set", past: "set", progressive: "setting")
    public static let install = Verb("install", past: "installed", progressive: "installing")
    public static let issue = Verb("issue", past: "issued", progressive: "issuing")
    public static let write = Verb("write", past: "wrote", progressive: "writing")
    public static let enable = Verb("enable", past: "enabled", progressive: "enabling")
    public static let start = Verb("start", past: "started", progressive: "starting")
    public static let restart = Verb("restart", past: "restarted", progressive: "restarting")
    public static let reload = Verb("reload", past: "reloaded", progressive: "reloading")
    public static let disable = Verb("disable", past: "disabled", progressive: "disabling")
    public static let stopAndDisable = Verb("stop and disable", past: "stopped and disabled", progressive: "stopping and disabling")
}
