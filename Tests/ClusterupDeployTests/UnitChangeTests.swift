import ClusterupCore
import ClusterupSSH
import Testing
@testable import ClusterupDeploy

/// A host that records the commands it is given and answers each with success.
final class RecordingShell: RemoteShell, @unchecked Sendable {
    let hostName = "node1"
    private(set) var commands: [String] = []

    func run(_ command: String, sudo: Bool, timeout: Double?) throws -> CommandResult {
        commands.append(command)
        return CommandResult(exitStatus: 0, stdout: [], stderr: [], signal: nil)
    }
    func put(_ bytes: [UInt8], to path: String, mode: UInt32, owner: String?, group: String?) throws -> Bool { true }
    func get(_ path: String) throws -> [UInt8] { [] }
    func putAll(_ files: [SSHConnection.UploadFile]) throws {}
}

@Suite struct UnitChangeTests {
    let units = ["kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service"]
        .map { ManagedUnit(name: $0, component: "control-plane") }

    @Test func aHostsUnitChangesGoInOneCommandInTheOrderOfTheUnits() throws {
        var changes = HostChanges(host: "node1")
        changes.units = [
            .enable("kube-scheduler.service"), .restart("kube-scheduler.service", because: ["/etc/kubernetes/scheduler.conf"]),
            .start("kube-apiserver.service"),
        ]
        let shell = RecordingShell()
        let done = try applyUnitChanges(units, changes: changes, on: shell)
        #expect(done == ["started kube-apiserver.service", "restarted kube-scheduler.service"])
        #expect(shell.commands == ["systemctl restart kube-apiserver.service || exit $?\nsystemctl restart kube-scheduler.service || exit $?"])
    }

    @Test func unitsWithNothingToDoCostNoCommand() throws {
        var changes = HostChanges(host: "node1")
        changes.units = [.enable("kube-apiserver.service")]
        let shell = RecordingShell()
        #expect(try applyUnitChanges(units, changes: changes, on: shell).isEmpty)
        #expect(shell.commands.isEmpty)
    }
}
