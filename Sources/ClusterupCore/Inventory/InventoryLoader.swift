import Foundation
import Yams

/// Reads and validates inventory files. The environment, home and working directory are injected so
/// path resolution is testable; the only I/O is reading the inventory and checking that key files
/// it names can be read.
public struct InventoryLoader: Sendable {
    public static let environmentVariable = "CLUSTERUP_INVENTORY"
    public static let defaultFileName = "inventory.yml"

    public var environment: [String: String]
    public var homeDirectory: String
    public var currentDirectory: String

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        homeDirectory: String = NSHomeDirectory(),
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) {
        self.environment = environment
        self.homeDirectory = homeDirectory
        self.currentDirectory = currentDirectory
    }

    /// Which file a command uses: the explicit argument, else $CLUSTERUP_INVENTORY, else ./inventory.yml.
    /// Throws when that file does not exist, naming the path tried and where it came from.
    public func locate(_ explicit: String?) throws(ClusterupError) -> String {
        let path: String, source: String
        if let explicit, !explicit.isEmpty {
            (path, source) = (explicit, "given on the command line")
        } else if let fromEnvironment = environment[Self.environmentVariable], !fromEnvironment.isEmpty {
            (path, source) = (fromEnvironment, "from $\(Self.environmentVariable)")
        } else {
            (path, source) = (Self.defaultFileName, "the default; $\(Self.environmentVariable) is not set")
        }
        let absolute = absolutePath(path, relativeTo: currentDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            let command = path == Self.defaultFileName ? "clusterup init" : "clusterup init \(path)"
            throw .badInput(
                "no inventory at \(absolute) (\(source))",
                hint: "write a starter one with `\(command)`, or pass the inventory's path as the first argument")
        }
        guard !isDirectory.boolValue else {
            throw .badInput("\(absolute) is a directory, not an inventory file (\(source))",
                            hint: "pass the inventory file itself, e.g. \(path)/\(Self.defaultFileName)")
        }
        return path
    }

    /// `locate` then `load`.
    public func loadLocated(_ explicit: String?) throws(ClusterupError) -> Inventory {
        try load(path: try locate(explicit))
    }

    /// Reads and validates the inventory at `path` (relative to the current directory).
    public func load(path: String) throws(ClusterupError) -> Inventory {
        let absolute = absolutePath(path, relativeTo: currentDirectory)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: absolute))
        } catch {
            throw .badInput("cannot read the inventory: \(error.localizedDescription)", at: path,
                            hint: "check the path and its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .badInput("the inventory is not UTF-8 text", at: path)
        }
        return try parse(yaml: text, path: absolute, displayName: path)
    }

    /// Validates inventory text. `path` anchors relative paths; `displayName` is how messages name the file.
    public func parse(yaml text: String, path: String, displayName: String? = nil) throws(ClusterupError) -> Inventory {
        let absolute = absolutePath(path, relativeTo: currentDirectory)
        let file = displayName ?? path
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ClusterupError.badInput("the inventory is empty", at: file,
                                              hint: "write a starter one with `clusterup init`")
            }
            root = node
        } catch let error as ClusterupError {
            throw error
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file)
        } catch {
            throw .badInput("cannot parse YAML: \(error)", at: file)
        }
        let reader = InventoryReader(
            file: file, directory: parentDirectory(of: absolute), homeDirectory: homeDirectory)
        return try reader.read(root, path: absolute)
    }

    static func syntaxError(_ error: YamlError, file: String) -> ClusterupError {
        func located(_ problem: String, _ mark: Mark, _ context: YamlError.Context?, _ yaml: String) -> ClusterupError {
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            let snippet = mark.snippet(from: yaml).split(separator: "\n", omittingEmptySubsequences: false)
                .map { "    \($0)" }.joined(separator: "\n")
            return .badInput(message, at: "\(file):\(mark.line):\(mark.column)",
                             hint: "check the indentation and quoting here:\n\(snippet)")
        }
        switch error {
        case let .scanner(context, problem, mark, yaml), let .parser(context, problem, mark, yaml),
             let .composer(context, problem, mark, yaml):
            return located(problem, mark, context, yaml)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            // Yams marks the first occurrence; the later one is what usually needs to go.
            return .badInput("key \(keys) appears more than once in the same mapping; this is the first",
                             at: "\(file):\(context.mark.line):\(context.mark.column)",
                             hint: "keep one of them (a second 'hosts:' or 'ssh:' often comes from pasting)")
        case let .reader(problem, offset, _, _):
            return .badInput("cannot read YAML: \(problem)\(offset.map { " at character \($0)" } ?? "")", at: file,
                             hint: "save the inventory as UTF-8 text")
        default:
            return .badInput("YAML error: \(error)", at: file)
        }
    }
}

func absolutePath(_ path: String, relativeTo directory: String) -> String {
    let joined = path.hasPrefix("/") ? path : (directory.hasSuffix("/") ? directory + path : directory + "/" + path)
    return URL(fileURLWithPath: joined).standardized.path
}
