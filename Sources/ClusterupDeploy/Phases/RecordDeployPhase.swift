import ClusterupCore
import ClusterupSSH
import Foundation

/// Writes which clusterup changed each host (DeployRecord) on the hosts this run changed, once
/// their services are (re)started; hosts left as they were keep the record of the run that made them.
struct RecordDeployPhase: DeployPhase {
    let title = "record version"
    let afterFailure = AfterFailure.nodesPartWay
    let changesHosts = true

    func skipReason(_ session: DeploySession) -> String? {
        if session.options.build == nil { return "no version given to record" }
        return session.with { state in state.changes.values.allSatisfy(\.isEmpty) } ? "no host changed" : nil
    }

    func run(_ session: DeploySession) async throws {
        guard let build = session.options.build else { return }
        let changes = session.with { $0.changes }
        let hosts = session.inventory.hosts.filter { changes[$0.name]?.isEmpty == false }
        let record = DeployRecord(build: build, deployedAt: ISO8601DateFormatter().string(from: Date()),
                                  deployedBy: Self.operatorName())
        try await session.onHosts(hosts, phase: self, step: "recording") { _, connection, _ in
            _ = try connection.checkedOutput("mkdir -p \(shellQuote(parent(of: DeployRecord.path)))")
            try connection.putAll([SSHConnection.UploadFile(Array(record.fileText.utf8), to: DeployRecord.path, mode: 0o644)])
        }
    }

    static func operatorName() -> String {
        "\(ProcessInfo.processInfo.environment["USER"] ?? "root")@\(ProcessInfo.processInfo.hostName)"
    }
}
