import ClusterupNodes
import ClusterupCore

/// etcd hosts: one member each, TLS for clients and peers, run by our own etcd.service (it
/// takes precedence over the distribution's unit of the same name).
enum EtcdComponent {
    static let unitPath = "/etc/systemd/system/etcd.service"
    static let bootstrapPath = "/etc/clusterup/etcd-bootstrap.env"

    static func describe(_ host: Host, _ inputs: DeployInputs, into state: inout HostDesiredState) throws {
        guard host.roles.contains(.etcd) else { return }
        let settings = inputs.settings.etcd
        state.add(ManagedFile(
            path: unitPath,
            text: try inputs.render("etcd.service", [
                "cluster": inputs.inventory.cluster, "name": host.name, "address": host.privateAddress,
                "binary": systemdWord(try inputs.artifactPath("etcd")), "dataDir": systemdWord(settings.dataDirectory),
                "pki": NodeLayout.pkiDirectory, "extraArgs": settings.extraArgs.map(systemdWord),
            ]),
            restarts: ["etcd.service"], component: "etcd"))
        // Only a member that is about to start for the first time gets (a new) bootstrap file:
        // running members never see a change when the cluster grows.
        if let bootstrap = inputs.etcdBootstrap[host.name] {
            state.add(ManagedFile(
                path: bootstrapPath,
                text: try inputs.render("etcd-bootstrap.env", [
                    "cluster": inputs.inventory.cluster, "name": host.name,
                    "initialCluster": bootstrap.initialCluster, "initialState": bootstrap.state,
                ]),
                component: "etcd"))
        }
        for artifact in ["etcd", "etcdctl"] {
            if let binary = try inputs.uploadedArtifact(artifact, restarts: artifact == "etcd" ? ["etcd.service"] : [], component: "etcd") {
                state.add(binary)
            }
        }
        state.add(ManagedUnit(name: "etcd.service", component: "etcd", restartOrder: .oneHostAtATime))
    }

    /// `--etcd-servers` for kube-apiserver: every etcd member's client URL.
    static func clientURLs(_ inventory: Inventory) -> String {
        inventory.hosts(withRole: .etcd).map { EtcdPeer(name: $0.name, address: $0.privateAddress).clientURL }
            .joined(separator: ",")
    }
}
