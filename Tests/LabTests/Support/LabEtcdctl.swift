import ClusterupCore
import ClusterupNodes
import ClusterupSSH
import Foundation
import Testing

/// etcdctl on the inventory's first etcd host over SSH, as deploy runs it (its stdout).
func labEtcdctl(_ inventoryPath: String, _ arguments: String) async throws -> String {
    let inventory = try InventoryLoader().load(path: inventoryPath)
    let connector = try HostConnector.load(for: inventory, acceptNewHostKeys: false)
    let host = try #require(inventory.hosts(withRole: .etcd).first)
    return try await DedicatedThread.run(name: "etcdctl") {
        let connection = try connector.connect(host)
        defer { connection.close() }
        let result = try connection.run(Etcdctl.command("etcdctl", arguments), sudo: true, timeout: 30)
        guard result.succeeded else { throw ClusterupError.remote("etcdctl \(arguments): \(result.stderrText)", host: host.name) }
        return result.stdoutText
    }
}

/// The JSON document in a command's output (the lines from the first `{` line to the last `}` line).
func labJSON(_ output: String) throws -> [String: Any] {
    let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
    let start = try #require(lines.firstIndex(of: "{")), end = try #require(lines.lastIndex(of: "}"))
    return try #require(try JSONSerialization.jsonObject(with: Data(lines[start...end].joined(separator: "\n").utf8)) as? [String: Any])
}
