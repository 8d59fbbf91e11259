import ClusterupNodes
import ClusterupCore

/// etcd hosts: one member each, TLS for clients and peers, run by our own etcd.service (it
/// takes precedence over the distribution's unit of the same name).
enum EtcdComponent {
    static let unitPath = "/etc/systemd/system/etcd.service"
    static let bootstrapPath = "/etc/clusterup/etcd-bootstrap.env"
    /// The member's unit: what deploy keeps running, and the etcd phase (re)starts.
    static let unit = ManagedUnit(name: "etcd.service", component: "etcd")

    static func describe(_ host: InventoryHost, _ inputs: DeployInputs, into state: inout HostDesiredState) throws {
        guard host.roles.contains(.etcd) else { return }
        let settings = inputs.settings.etcd
        state.add(ManagedFile(
            path: unitPath,
            text: try inputs.render("etcd.service", [
                "cluster": inputs.inventory.cluster, "name": host.name, "address": host.privateAddress,
                "binary": systemdWord(try inputs.artifactPath("etcd")), "dataDir": systemdWord(settings.dataDirectory),
                "pki": NodeLayout.pkiDirectory, "extraArgs": settings.extraArgs.map(systemdWord),
            ]),
            restarts: [unit.name], component: "etcd"))
        for artifact in ["etcd", "etcdctl"] {
            if let binary = try inputs.uploadedArtifact(artifact, restarts: artifact == "etcd" ? [unit.name] : [], component: "etcd") {
                state.add(binary)
            }
        }
        state.add(unit)
        try describeSnapshots(host, inputs, into: &state)
    }

    /// The bootstrap file of a member about to start for the first time. Not part of `describe`:
    /// which members get one depends on the membership the plan reads (`DeployPlan`).
    static func bootstrapFile(for host: InventoryHost, _ bootstrap: EtcdBootstrap, _ inputs: DeployInputs) throws -> ManagedFile {
        ManagedFile(
            path: bootstrapPath,
            text: try inputs.render("etcd-bootstrap.env", [
                "cluster": inputs.inventory.cluster, "name": host.name,
                "initialCluster": bootstrap.initialCluster, "initialState": bootstrap.state.rawValue,
            ]),
            component: "etcd")
    }

    static let snapshotScriptPath = "/etc/clusterup/etcd-snapshot.sh"
    static let snapshotTimer = "etcd-snapshot.timer"

    /// `etcd.snapshots`: the script, a oneshot service that runs it and the timer that starts the
    /// service. Without the setting the timer is stopped and disabled (the files stay, inert).
    static func describeSnapshots(_ host: InventoryHost, _ inputs: DeployInputs, into state: inout HostDesiredState) throws {
        guard let schedule = inputs.settings.etcd.snapshots else {
            state.disabledUnits.append(snapshotTimer)
            return
        }
        let etcdctl = try inputs.artifactPath("etcdctl")
        let script = try snapshotScript(schedule, cluster: inputs.inventory.cluster, directory: inputs.settings.etcd.backupDirectory,
                                        etcdctl: etcdctl, templates: inputs.templates)
        state.add(ManagedFile(path: snapshotScriptPath, text: script, mode: 0o700, component: "etcd"))
        state.add(ManagedFile(
            path: "/etc/systemd/system/etcd-snapshot.service",
            text: try inputs.render("etcd-snapshot.service", ["cluster": inputs.inventory.cluster, "name": host.name, "script": snapshotScriptPath]),
            component: "etcd"))
        state.add(ManagedFile(
            path: "/etc/systemd/system/\(snapshotTimer)",
            text: try inputs.render("etcd-snapshot.timer", [
                "cluster": inputs.inventory.cluster, "every": schedule.every.inventoryText, "seconds": "\(schedule.every.components.seconds)",
            ]),
            restarts: [snapshotTimer], component: "etcd"))
        state.add(ManagedUnit(name: snapshotTimer, component: "etcd"))
    }

    /// The script the timer runs, also what the unit tests run against a stand-in etcdctl.
    static func snapshotScript(_ schedule: EtcdSnapshotSchedule, cluster: String, directory: String, etcdctl: String, templates: TemplateSet) throws -> String {
        try templates.render("etcd-snapshot.sh", [
            "cluster": cluster, "dir": shellQuote(directory), "keep": "\(schedule.keep)",
            "minFree": "\(schedule.minFree)", "etcdctl": Etcdctl.command(etcdctl, "").trimmingCharacters(in: .whitespaces),
            "etcdctlBinary": shellQuote(etcdctl),
        ])
    }

    /// `--etcd-servers` for kube-apiserver: every etcd member's client URL.
    static func clientURLs(_ inventory: Inventory) -> String {
        inventory.hosts(withRole: .etcd).map { EtcdPeer($0).clientURL }
            .joined(separator: ",")
    }
}
