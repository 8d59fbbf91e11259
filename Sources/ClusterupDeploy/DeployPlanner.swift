import ClusterupCore

/// Describes every host's desired state from the inputs. Pure; the phases compare it with what
/// the hosts have and apply the difference.
public enum DeployPlanner {
    public static func desiredState(for host: InventoryHost, _ inputs: DeployInputs) throws -> HostDesiredState {
        var state = HostDesiredState(host: host.name)
        try PKIComponent.describe(host, inputs, into: &state)
        try EtcdComponent.describe(host, inputs, into: &state)
        try ControlPlaneComponent.describe(host, inputs, into: &state)
        try LoadBalancerComponent.describe(host, inputs, into: &state)
        return state
    }

    /// Every inventory host's desired state, by name.
    public static func desiredStates(_ inputs: DeployInputs) throws -> [String: HostDesiredState] {
        var states: [String: HostDesiredState] = [:]
        for host in inputs.inventory.hosts { states[host.name] = try desiredState(for: host, inputs) }
        return states
    }
}

/// Every host with etcd or control-plane roles gets its share of the PKI.
enum PKIComponent {
    static func describe(_ host: InventoryHost, _ inputs: DeployInputs, into state: inout HostDesiredState) throws {
        for file in try inputs.pkiFiles(for: host) { state.add(file) }
    }
}
