import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupPKI
import Foundation

extension Clusterup {
    struct CertsGenCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gen",
            abstract: "Create every missing or outdated certificate; a second run changes nothing.",
            discussion: """
            Existing CAs are reused and never replaced silently. A leaf is issued only when it is missing, \
            its subject or SANs no longer match the inventory, it does not verify against its CA, or it \
            expires within pki.renew_before. Each issued certificate is printed with the reason.
            """
        )

        @OptionGroup var inventory: InventoryOptions

        @Flag(help: "Print what would be issued and written, and write nothing.")
        var dryRun = false

        func run() throws {
            let generator = try PKIGenerator(request: PKIRequest(inventory: inventory.loadWhole("the PKI covers the whole inventory")))
            let report = try generator.run(now: Date(), dryRun: dryRun)
            printWarnings(report.warnings)
            print(describe(report, directory: generator.directory.root, dryRun: dryRun), terminator: "")
        }
    }
}

/// What a gen/renew run did, one line per change; shared by `certs renew`.
func describe(_ report: PKIRunReport, directory: String, dryRun: Bool) -> String {
    let mode = RunMode(dryRun: dryRun)
    var lines: [String] = []
    if !report.createdAuthorities.isEmpty {
        lines.append(mode.planned(.create, "CA \(report.createdAuthorities.joined(separator: ", "))"))
    }
    if report.installedExternalCA { lines.append(mode.planned(.install, "the external CA certificate as ca.crt")) }
    switch report.serviceAccount {
    case .keep: break
    case .create: lines.append(mode.planned(.create, "service-account key pair sa.key, sa.pub"))
    case .writePublicKey: lines.append(mode.planned(.write, "sa.pub from sa.key"))
    }
    for issued in report.issued {
        let key = issued.newKey ? "new key" : "kept key"
        lines.append(mode.planned(.issue, "\(issued.name) (\(key)): \(issued.reasons.map(\.description).joined(separator: "; "))"))
    }
    if report.written.isEmpty {
        lines.append("nothing to change in \(directory)")
    } else {
        lines.append(mode.made(.write, "\(report.written.count) file(s) in \(directory)"))
    }
    return lines.joined(separator: "\n") + "\n"
}
