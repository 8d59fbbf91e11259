extension VRRPRouter {
    /// RFC 5798 §6.4 states, plus Fault for health tracking (keepalived's FAULT): no adverts, no
    /// virtual addresses, until the link is up and the effective priority is above 0 again.
    public enum State: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case initialize = "Initialize"
        case backup = "Backup"
        case master = "Master"
        case fault = "Fault"

        public var description: String { rawValue }
    }

    /// The router's timers (RFC 5798 §6.2), armed and cancelled through actions.
    public enum TimerKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Master_Down_Timer (Backup).
        case masterDown = "Master_Down_Timer"
        /// Adver_Timer (Master).
        case adver = "Adver_Timer"
        /// Ends a Backup's preempt delay.
        case preemptDelay = "Preempt_Delay_Timer"

        public var description: String { rawValue }
    }

    public enum Event: Sendable, Hashable {
        case startup
        /// Startup of a daemon that replaced its own process image while Master (a restart in
        /// place): Master again at once, its addresses still on the interface, instead of Backup
        /// until Master_Down_Interval (which would hand the VIP to a backup and back).
        case resumeAsMaster
        case shutdown
        /// An advertisement that passed the codec's receive checks, with the IP source address.
        case advertisementReceived(VRRPAdvertisement, from: IPAddress)
        /// A packet the codec rejected, so it is counted against this router.
        case packetRejected(VRRPPacketError)
        case timerFired(TimerKind)
        /// The priority after health tracking (configured priority plus weights, clamped by the
        /// caller to 0...255); 0 means a tracked check with weight 0 failed: go to Fault.
        case priorityChanged(effective: UInt8)
        case interfaceUp
        case interfaceDown
    }

    public enum Action: Sendable, Hashable {
        /// Encode (with `configuration.checksumMode`) and send to the VRRP group or unicast peers.
        case sendAdvertisement(VRRPAdvertisement)
        case addVirtualAddresses([IPAddress])
        case removeVirtualAddresses([IPAddress])
        /// Gratuitous ARP (IPv4) or unsolicited Neighbor Advertisement (IPv6) for these addresses;
        /// repeats, delay and periodic refresh are the daemon's.
        case sendGratuitousARP([IPAddress])
        /// One burst of gratuitous ARP (or unsolicited NA) for these addresses, with no second
        /// burst and no change to the periodic refresh: another router acted as Master while we
        /// were (a healed partition) and caches may still name it. `reason` is for the log.
        case reannounceVirtualAddresses([IPAddress], reason: String)
        /// (Re)arm: at most one deadline per kind is live; a new one replaces the old.
        case armTimer(TimerKind, deadline: Instant)
        case cancelTimer(TimerKind)
        case stateChanged(from: State, to: State, reason: String)
        /// An advertisement was discarded (already counted); for rate-limited logging.
        case advertisementDiscarded(DropReason, from: IPAddress)
    }

    /// Why an advertisement or packet was discarded. Peer mistakes and misconfigurations, plus
    /// the protocol's own discards (lower priority), each counted apart.
    public enum DropReason: Sendable, Hashable, CustomStringConvertible {
        case malformed(VRRPPacketError.Kind)
        case notRunning
        case versionMismatch
        /// The VRID is not this router's.
        case vridMismatch
        case addressFamilyMismatch
        /// Our own advert looped back.
        case ownAdvertisement
        /// We own the addresses (priority 255): RFC 5798 §7.1 discards every advert.
        case addressOwner
        case authTypeMismatch
        case authFailure
        /// VRRPv2 requires every router to use the same Adver Int (RFC 3768 §7.1).
        case advertisementIntervalMismatch
        case advertisementIntervalZero
        /// VRRPv3: Max Adver Int beyond `Configuration.acceptedIntervalLimit`.
        case advertisementIntervalTooLong
        /// RFC 5798 §6.4.2 / §6.4.3: lower priority than ours, preempting or already Master.
        case lowerPriority

        /// Stable name for counters and JSON.
        public var name: String {
            switch self {
            case .malformed(let kind): "malformed-\(kind.rawValue)"
            case .notRunning: "not-running"
            case .versionMismatch: "version-mismatch"
            case .vridMismatch: "vrid-mismatch"
            case .addressFamilyMismatch: "address-family-mismatch"
            case .ownAdvertisement: "own-advertisement"
            case .addressOwner: "address-owner"
            case .authTypeMismatch: "auth-type-mismatch"
            case .authFailure: "auth-failure"
            case .advertisementIntervalMismatch: "interval-mismatch"
            case .advertisementIntervalZero: "interval-zero"
            case .advertisementIntervalTooLong: "interval-too-long"
            case .lowerPriority: "lower-priority"
            }
        }

        public var description: String { name }
    }

    public struct Counters: Sendable, Hashable {
        public var advertisementsSent: UInt64 = 0
        /// Advertisements that passed every check and reached the state logic.
        public var advertisementsReceived: UInt64 = 0
        public var priorityZeroSent: UInt64 = 0
        public var priorityZeroReceived: UInt64 = 0
        /// Adverts whose virtual addresses differ from ours: logged, not dropped (RFC 5798 §7.1 MAY).
        public var addressListMismatches: UInt64 = 0
        public var transitions: UInt64 = 0
        public var becameMaster: UInt64 = 0
        /// Lower-priority adverts heard while Master that we answered with an advert and a
        /// re-announcement of the virtual addresses (keepalived's "forcing new election").
        public var forcedElections: UInt64 = 0
        public var dropped: [DropReason: UInt64] = [:]

        public var droppedTotal: UInt64 { dropped.values.reduce(0, +) }

        public init() {}
    }
}
