import ArgumentParser
import ClusterupCore
import ClusterupPKI
import Foundation

extension Clusterup {
    /// `clusterup certs`: the cluster's PKI, made with OpenSSL's library.
    struct CertsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "certs",
            abstract: "Generate, inspect and renew the cluster's certificates and keys.",
            discussion: """
            The PKI lives in pki.directory (default pki/<cluster>/ beside the inventory) in kubeadm's
            layout; each node's own certificates are under nodes/<node>/, mirroring /etc/kubernetes/pki.
            Private keys are 0600 in 0700 directories and are never printed.
            """,
            subcommands: [CertsGenCommand.self, CertsCheckExpirationCommand.self, CertsRenewCommand.self, CertsRotateCACommand.self]
        )
    }
}

/// Loads the inventory (argument, else $CLUSTERUP_INVENTORY, else ./inventory.yml) and the PKI generator.
func loadPKIGenerator(inventory path: String?) throws(ClusterupError) -> PKIGenerator {
    let inventory = try InventoryLoader().loadLocated(path)
    return try PKIGenerator(request: PKIRequest(inventory: inventory))
}

func printWarnings(_ warnings: [String]) {
    for warning in warnings {
        FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
    }
}
