import ArgumentParser
import ClusterupCore
import ClusterupSSH

/// SSH flags shared by every command that connects to hosts.
public struct SSHOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Record the host key of a host not yet in known_hosts (trust on first use).",
        discussion: "Without it, an unknown host is refused with its SHA256 fingerprint. A host whose key CHANGED is always refused."))
    public var acceptNewHostKeys = false

    public init() {}

    public func connector(for inventory: Inventory) throws -> HostConnector {
        try HostConnector.load(for: inventory, acceptNewHostKeys: acceptNewHostKeys)
    }
}
