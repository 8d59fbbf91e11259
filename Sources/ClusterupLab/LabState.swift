import Foundation

/// A process the lab started, identified by pid and start time so a recycled pid is never killed.
public struct RecordedProcess: Codable, Hashable, Sendable {
    public var pid: Int32
    /// Field 22 of /proc/PID/stat (clock ticks since boot).
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }
}

/// One node as recorded on disk.
public struct LabNode: Codable, Hashable, Sendable {
    public var index: Int
    /// Host name inside the node and name in the inventory: node1, node2, ...
    public var name: String
    /// systemd machine name; unique across labs.
    public var machine: String
    public var address: String
    /// Merged overlay: the node's root directory, seen from the host.
    public var rootDirectory: String
    public var upperDirectory: String
    public var workDirectory: String
    public var logFile: String
    /// `ssh-ed25519 AAAA...` of the node's own host key, once generated.
    public var hostKey: String?
    public var nspawn: RecordedProcess?
    /// The node's PID 1 (systemd), as seen from the host.
    public var initProcess: RecordedProcess?
    /// The Debian release the node runs; nil in labs recorded before releases (the host's).
    public var release: DebianRelease?
    /// The overlay's lower layer when it is a cached image; nil: this machine's `/`.
    public var lowerDirectory: String?

    /// The overlay's lower layer: the node's image, or this machine's root.
    public var lower: String { lowerDirectory ?? "/" }

    /// The host side of the node's veth, which nspawn plugs into the bridge.
    public var hostLink: String { "vb-\(machine)" }
}

/// Everything a lab made, written to `state.json` after every step so `lab down` can undo a crash.
public struct LabState: Codable, Sendable {
    public enum Phase: String, Codable, Sendable {
        case creating, ready, tearingDown = "tearing-down"
    }

    public var formatVersion = 1
    public var name: String
    public var block: Int
    public var phase: Phase
    public var createdAt: Date
    public var bridge: String
    /// Mounts made, in the order made (unmounted in reverse).
    public var mounts: [String]
    /// Links made on the host (the bridge); veths belong to nspawn and are listed per node.
    public var links: [String]
    public var nodes: [LabNode]

    public init(name: LabName, plan: AddressPlan, createdAt: Date) {
        self.name = name.value
        self.block = plan.block
        self.phase = .creating
        self.createdAt = createdAt
        self.bridge = name.bridge
        self.mounts = []
        self.links = []
        self.nodes = []
    }

    public var plan: AddressPlan {
        get throws { try AddressPlan(block: block) }
    }

    public func node(named name: String) -> LabNode? {
        nodes.first { $0.name == name || $0.machine == name }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> LabState {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(LabState.self, from: data)
    }
}

/// Where a lab keeps its files. The root is a parameter so tests can use a scratch directory.
public struct LabPaths: Sendable {
    public static let defaultRoot = "/var/lib/clusterup/labs"

    public let root: String
    public let name: LabName

    public init(name: LabName, root: String = LabPaths.defaultRoot) {
        self.root = root
        self.name = name
    }

    public var directory: String { "\(root)/\(name.value)" }
    public var stateFile: String { "\(directory)/state.json" }
    public var inventory: String { "\(directory)/inventory.yml" }
    public var knownHosts: String { "\(directory)/known_hosts" }
    public var privateKey: String { "\(directory)/id_ed25519" }
    public var publicKey: String { "\(privateKey).pub" }
    public var logDirectory: String { "\(directory)/logs" }
    /// Stand-ins for the Kubernetes binaries, which cannot be obtained here (see lab/standins/).
    public var standins: String { "\(directory)/standins" }
    /// A tmpfs holding every node's upper and work directory: overlayfs refuses an upper directory
    /// inside its lower tree (/), and a separate filesystem avoids that.
    public var layers: String { "\(directory)/layers" }
    public var nodesDirectory: String { "\(directory)/nodes" }

    public func node(_ index: Int, plan: AddressPlan) -> LabNode {
        let hostname = "node\(index)"
        return LabNode(
            index: index, name: hostname, machine: name.machineName(node: index),
            address: plan.nodeAddress(index),
            rootDirectory: "\(nodesDirectory)/\(hostname)",
            upperDirectory: "\(layers)/\(hostname)/upper",
            workDirectory: "\(layers)/\(hostname)/work",
            logFile: "\(logDirectory)/\(hostname).log")
    }
}
