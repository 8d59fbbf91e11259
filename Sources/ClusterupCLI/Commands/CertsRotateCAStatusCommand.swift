import ArgumentParser
import ClusterupCore
import ClusterupPKI
import Foundation

extension Clusterup {
    /// `clusterup certs rotate-ca status`: where a CA rotation stands, per host, from rotate-ca.json.
    struct CertsRotateCAStatusCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the phase of the CA rotation on each host (from pki.directory/rotate-ca.json).")

        @OptionGroup var inventory: InventoryOptions

        @OptionGroup var output: OutputOptions

        func run() throws {
            let loaded = try inventory.loadWhole("a CA rotation covers the whole inventory")
            let generator = try PKIGenerator(request: PKIRequest(inventory: loaded))
            guard let state = try RotationState.load(from: generator.directory) else {
                print(output.isJSON ? JSONValue.object([("rotation", .null)]).pretty : "no CA rotation has been started (\(generator.directory.absolute(RotationState.fileName)) does not exist)")
                return
            }
            let hosts = CARotationPlanner.participants(authorities: state.authorities, serviceAccount: state.rotatesServiceAccount,
                                                       pki: generator.plan, hosts: loaded.hosts.map(\.name))
            let behind = state.incomplete(state.phase, of: hosts)
            let summary = state.isOver ? "over: every host has finished"
                : behind.isEmpty ? "phase \(state.phase.rawValue) complete on every host" + (state.phase.next.map { "; next: --phase \($0.rawValue)" } ?? "")
                : "phase \(state.phase.rawValue) incomplete on \(behind.joined(separator: ", ")); re-run --phase \(state.phase.rawValue) to resume"
            if output.isJSON {
                print(JSONValue.object([
                    ("cas", .array(state.authorities.map { .string($0.rawValue) })), ("service_account", .bool(state.rotatesServiceAccount)),
                    ("phase", .string(state.phase.rawValue)),
                    ("prepared", .optional(state.prepared?.rawValue)), ("rotate_keys", .bool(state.rotateKeys)),
                    ("hosts", .object(hosts.map { ($0, .optional(state.hosts[$0]?.rawValue)) })),
                    ("incomplete", .array(behind.map(JSONValue.string))), ("summary", .string(summary)),
                ]).pretty)
                return
            }
            print("rotation of \(state.subjects): \(summary)")
            print(TextTable.render(header: ["HOST", "PHASE DONE"], rows: hosts.map { [$0, state.hosts[$0]?.rawValue ?? "-"] }), terminator: "")
        }
    }
}
