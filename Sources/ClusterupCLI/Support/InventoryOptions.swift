import ArgumentParser
import ClusterupCore
import Foundation

/// The inventory argument and host selection every inventory-driven command shares:
/// `clusterup <command> [INVENTORY] [--hosts a,b] [--roles r]`.
public struct InventoryOptions: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "The inventory file.",
            discussion: "Default: $CLUSTERUP_INVENTORY, else ./inventory.yml.",
            valueName: "inventory"),
        completion: .file(extensions: ["yml", "yaml"]))
    public var inventory: String?

    @Option(
        name: .customLong("hosts"),
        help: ArgumentHelp("Only these hosts (comma-separated names; may be repeated).", valueName: "name,..."),
        completion: .custom { words, _, _ in InventoryCompletion.hostNames(words: words) })
    public var hostNames: [String] = []

    @Option(
        name: .customLong("roles"),
        help: ArgumentHelp(
            "Only hosts with any of these roles (comma-separated: etcd, control-plane, lb).", valueName: "role,..."),
        completion: .list(Role.names))
    public var roleNames: [String] = []

    public init() {}

    /// Finds and loads the inventory (explicit path, $CLUSTERUP_INVENTORY, ./inventory.yml).
    public func load(with loader: InventoryLoader = InventoryLoader()) throws(ClusterupError) -> Inventory {
        try loader.loadLocated(inventory)
    }

    /// The inventory, for a command that works on every host of it: `--hosts` and `--roles` are
    /// refused, saying `scope` ("deploy works on the whole inventory").
    public func loadWhole(_ scope: String, with loader: InventoryLoader = InventoryLoader()) throws -> Inventory {
        let inventory = try load(with: loader)
        if !hostNames.isEmpty || !roleNames.isEmpty {
            throw ValidationError("\(scope); --hosts and --roles are for exec and check")
        }
        return inventory
    }

    /// The inventory and the hosts `--hosts`/`--roles` select from it, in inventory order.
    public func loadSelection(with loader: InventoryLoader = InventoryLoader()) throws(ClusterupError) -> (Inventory, [InventoryHost]) {
        let inventory = try load(with: loader)
        return (inventory, try inventory.select(hostArguments: hostNames, roleArguments: roleNames))
    }
}

/// `--output text|json`.
public struct OutputOptions: ParsableArguments {
    @Option(help: "Output format: text (a live display on a terminal, plain lines otherwise) or json.")
    public var output: OutputFormat = .text

    public init() {}

    public var isJSON: Bool { output == .json }

    /// How fan-out progress is shown on stdout: live only when stdout is a terminal.
    public var progressMode: ProgressWriter.Mode {
        let size = Terminal.size()
        return ProgressWriter.mode(for: output, isTTY: isatty(STDOUT_FILENO) == 1, width: size?.columns, height: size?.rows)
    }

    /// A progress writer on stdout for these hosts. Use the same clock for the fan-out.
    public func progressWriter(hosts: [InventoryHost], clock: TimeSource) -> ProgressWriter {
        progressWriter(names: hosts.map(\.name), clock: clock)
    }

    public func progressWriter(names: [String], clock: TimeSource) -> ProgressWriter {
        ProgressWriter(mode: progressMode, hosts: names, clock: clock, write: Terminal.writeStandardOutput)
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// `--concurrency N`: how many hosts are worked on at once.
public struct FanOutOptions: ParsableArguments {
    @Option(help: "How many hosts to work on at once.")
    public var concurrency: Int = FanOut.defaultConcurrency

    public init() {}

    public func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    public func fanOut(clock: TimeSource) -> FanOut { FanOut(concurrency: concurrency, clock: clock) }
}

/// Shell completion of host names from the inventory being typed (or the default one).
enum InventoryCompletion {
    static func hostNames(words: [String]) -> [String] {
        let explicit = words.first { ($0.hasSuffix(".yml") || $0.hasSuffix(".yaml")) && FileManager.default.fileExists(atPath: $0) }
        guard let inventory = try? InventoryLoader().loadLocated(explicit) else { return [] }
        return inventory.hosts.map(\.name)
    }
}
