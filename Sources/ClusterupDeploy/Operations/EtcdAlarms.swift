import ClusterupNodes
import ClusterupCore
import ClusterupSSH

/// `clusterup etcd alarms disarm`: clears the alarms once their cause is gone, then reads them
/// again to show they stayed cleared.
public enum EtcdAlarms {
    /// Refuses (exit 2, every reason) while a cause remains; returns the alarms left afterwards.
    public static func disarm(survey: EtcdSurvey, inventory: Inventory, settings: DeploySettings, sessions: HostSessions) async throws -> [EtcdAlarm] {
        guard !survey.alarms.isEmpty else { return [] }
        let refusals = EtcdAlarmDisarm.refusals(alarms: survey.alarms, states: survey.members, quota: EtcdQuota.bytes(settings.etcd))
        if !refusals.isEmpty {
            throw ClusterupError.badInput(
                "the alarms' cause remains; disarming now would let writes fill the database again:\n  " + refusals.joined(separator: "\n  "),
                at: "etcd", hint: "nothing was disarmed")
        }
        guard let host = inventory.host(named: survey.queriedOn) else { return survey.alarms }
        let etcdctl = etcdctlPath(settings)
        let results = await sessions.run([host], step: "disarming") { host, connection, _ in
            _ = try connection.checkedOutput(Etcdctl.command(etcdctl, "alarm disarm"), timeout: 30)
            return try EtcdAlarm.parseList(try connection.checkedOutput(Etcdctl.command(etcdctl, "alarm list -w json"), timeout: 30), host: host.name)
        }
        switch results.first?.outcome {
        case .success(let left)?: return left
        case .failure(let error)?: throw error
        case nil: throw CancellationError()
        }
    }
}
