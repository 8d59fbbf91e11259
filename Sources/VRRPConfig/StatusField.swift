/// The member names of `clusterup-vrrpd status`'s JSON, spelled once: the daemon writes them
/// (VRRPDaemon's `statusJSON`) and ClusterupNodes' `VRRPInstanceStatus` decodes by them, so the
/// writer and the reader cannot drift apart. The counters' `dropped` object is keyed by drop
/// reasons, not by these names.
public enum StatusField: String, CodingKey, Sendable, CaseIterable {
    case daemon
    case config
    case uptimeMs = "uptime_ms"
    case reloads
    case restartsInPlace = "restarts_in_place"
    case instances
    case from
    case to
    case reason
    case msAgo = "ms_ago"
    case advertsSent = "adverts_sent"
    case advertsReceived = "adverts_received"
    case priorityZeroSent = "priority_zero_sent"
    case priorityZeroReceived = "priority_zero_received"
    case addressListMismatches = "address_list_mismatches"
    case transitions
    case becameMaster = "became_master"
    case forcedElections = "forced_elections"
    case sendErrors = "send_errors"
    case batchReads = "batch_reads"
    case resignationWakeups = "resignation_wakeups"
    case vipErrors = "vip_errors"
    case droppedTotal = "dropped_total"
    case dropped
    case name
    case interface
    case vrid
    case version
    case family
    case state
    case priority
    case effectivePriority = "effective_priority"
    case tracking
    case primaryAddress = "primary_address"
    case masterAddress = "master_address"
    case masterPriority = "master_priority"
    case advertIntervalMs = "advert_interval_ms"
    case masterAdvertIntervalMs = "master_advert_interval_ms"
    case unicastPeers = "unicast_peers"
    case vips
    case vipsInstalled = "vips_installed"
    case lastTransition = "last_transition"
    case lastAdvertMsAgo = "last_advert_ms_ago"
    case masterDownInMs = "master_down_in_ms"
    case checks
    case good
    case weight
    case detail
    case trackedInterfaces = "tracked_interfaces"
    case up
    case counters
    case garpSent = "garp_sent"
    case naSent = "na_sent"
    case announceFailures = "announce_failures"
}
