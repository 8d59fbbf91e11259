import ClusterupNodes
import ClusterupCore

/// control-plane hosts: kube-apiserver (talking to every etcd member over TLS), and
/// kube-controller-manager and kube-scheduler reaching the API through the VIP.
enum ControlPlaneComponent {
    static let kubeconfigs = [
        ("controller-manager.conf", "kube-controller-manager.service"),
        ("scheduler.conf", "kube-scheduler.service"),
        ("admin.conf", nil as String?),
    ]

    /// The units deploy keeps running on control-plane hosts, and the control plane phase
    /// (re)starts, in this order.
    static let units = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map(unit)

    static func unit(_ program: String) -> ManagedUnit {
        ManagedUnit(name: "\(program).service", component: "control-plane")
    }

    static func describe(_ host: InventoryHost, _ inputs: DeployInputs, into state: inout HostDesiredState) throws {
        guard host.roles.contains(.controlPlane) else { return }
        let inventory = inputs.inventory
        let settings = inputs.settings.controlPlane
        let dir = DeployInputs.kubernetesDirectory
        for (file, unit) in kubeconfigs {
            guard let content = inputs.pkiFiles[file] else {
                throw ClusterupError.local("the PKI has no \(file)", at: inventory.pki.directory, hint: "run `clusterup certs gen`")
            }
            state.add(ManagedFile(
                path: "\(dir)/\(file)", content: content, mode: 0o600, sensitive: true,
                restarts: unit.map { [$0] } ?? [], component: "control-plane"))
        }
        let common: [String: Any] = [
            "cluster": inventory.cluster, "name": host.name, "address": host.privateAddress,
            "pki": NodeLayout.pkiDirectory, "kubernetesDir": dir,
            "clusterDomain": inventory.pki.clusterDomain, "serviceCIDR": inventory.pki.serviceCIDR,
        ]
        let components: [(String, [String])] = [
            ("kube-apiserver", settings.apiserverExtraArgs),
            ("kube-controller-manager", settings.controllerManagerExtraArgs),
            ("kube-scheduler", settings.schedulerExtraArgs),
        ]
        for (name, extraArgs) in components {
            let unit = Self.unit(name)
            var context = common
            context["binary"] = systemdWord(try inputs.artifactPath(name))
            context["extraArgs"] = extraArgs.map(systemdWord)
            if name == "kube-apiserver" { context["etcdServers"] = EtcdComponent.clientURLs(inventory) }
            state.add(ManagedFile(
                path: "/etc/systemd/system/\(name).service", text: try inputs.render("\(name).service", context),
                restarts: [unit.name], component: "control-plane"))
            if let binary = try inputs.uploadedArtifact(name, restarts: [unit.name], component: "control-plane") {
                state.add(binary)
            }
            state.add(unit)
        }
    }
}
