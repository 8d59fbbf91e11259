extension VRRPRouter {
    /// One virtual router as configured (RFC 5798 §6.1 parameters).
    public struct Configuration: Sendable, Hashable {
        /// VRID, 1...255.
        public var vrid: UInt8
        /// 1...254 to take part in elections; 255 for the owner of the virtual addresses.
        public var priority: UInt8
        public var version: VRRPVersion
        /// Advertisement_Interval in centiseconds: 1...4095 for v3; whole seconds (100...25500) for v2.
        public var advertisementInterval: UInt16
        /// The address adverts are sent from; breaks priority ties (higher wins).
        public var primaryAddress: IPAddress
        /// The virtual addresses: at least one, at most 255, of the primary address's family.
        public var virtualAddresses: [IPAddress]
        /// Preempt_Mode. The address owner preempts regardless.
        public var preempt: Bool
        /// How long a higher-priority Backup accepts a lower-priority Master before preempting it
        /// (keepalived's preempt_delay). Zero preempts at once. At most 1000 s.
        public var preemptDelay: Duration
        /// Accept_Mode: whether the Master accepts packets addressed to the virtual addresses it
        /// does not own. The daemon applies it; the state machine only carries it.
        public var acceptMode: Bool
        /// What the v3 IPv4 checksum covers; ignored for v2 and for IPv6.
        public var checksumMode: VRRPChecksumMode
        /// VRRPv2 only.
        public var authentication: VRRPv2Authentication
        /// VRRPv3: the longest Max Adver Int a Backup adopts from a Master, as a multiple of our
        /// own interval; adverts advertising more are discarded and counted. RFC 5798 adopts any
        /// value, so one forged advert with 4095 cs makes every Backup wait ~123 s before taking
        /// over. 0 adopts any value, as the RFC does.
        public var acceptedIntervalFactor: UInt16

        public init(
            vrid: UInt8, priority: UInt8, version: VRRPVersion = .v3, advertisementInterval: UInt16 = 100,
            primaryAddress: IPAddress, virtualAddresses: [IPAddress], preempt: Bool = true,
            preemptDelay: Duration = .zero, acceptMode: Bool = false,
            checksumMode: VRRPChecksumMode = .pseudoHeader, authentication: VRRPv2Authentication = .none,
            acceptedIntervalFactor: UInt16 = 10
        ) {
            self.vrid = vrid
            self.priority = priority
            self.version = version
            self.advertisementInterval = advertisementInterval
            self.primaryAddress = primaryAddress
            self.virtualAddresses = virtualAddresses
            self.preempt = preempt
            self.preemptDelay = preemptDelay
            self.acceptMode = acceptMode
            self.checksumMode = checksumMode
            self.authentication = authentication
            self.acceptedIntervalFactor = acceptedIntervalFactor
        }

        /// The longest Max Adver Int accepted from a Master, in centiseconds (4095 = any).
        public var acceptedIntervalLimit: UInt16 {
            guard acceptedIntervalFactor > 0 else { return VRRPCodec.maxV3AdvertisementInterval }
            return UInt16(min(UInt32(VRRPCodec.maxV3AdvertisementInterval), UInt32(acceptedIntervalFactor) * UInt32(advertisementInterval)))
        }

        /// Throws for the first field that is out of range, naming it.
        public func validate() throws(ConfigurationError) {
            guard vrid >= 1 else { throw ConfigurationError(field: "vrid", problem: "must be 1...255, got 0") }
            guard priority >= 1 else {
                throw ConfigurationError(field: "priority", problem: "must be 1...255 (0 is reserved for a resigning Master), got 0")
            }
            switch version {
            case .v3:
                guard (1...VRRPCodec.maxV3AdvertisementInterval).contains(advertisementInterval) else {
                    throw ConfigurationError(field: "advertisementInterval",
                        problem: "VRRPv3 needs 1...4095 centiseconds (10 ms ... 40.95 s), got \(advertisementInterval)")
                }
            case .v2:
                guard advertisementInterval % 100 == 0, (1...255).contains(advertisementInterval / 100) else {
                    throw ConfigurationError(field: "advertisementInterval",
                        problem: "VRRPv2 carries whole seconds 1...255, got \(advertisementInterval) centiseconds")
                }
                guard primaryAddress.family == .ipv4 else {
                    throw ConfigurationError(field: "version", problem: "VRRPv2 is IPv4 only; use version 3 for IPv6")
                }
            }
            guard !virtualAddresses.isEmpty else {
                throw ConfigurationError(field: "virtualAddresses", problem: "at least one virtual address is needed")
            }
            guard virtualAddresses.count <= 255 else {
                throw ConfigurationError(field: "virtualAddresses", problem: "at most 255 fit in an advertisement, got \(virtualAddresses.count)")
            }
            if let other = virtualAddresses.first(where: { $0.family != primaryAddress.family }) {
                throw ConfigurationError(field: "virtualAddresses",
                    problem: "\(other) is not \(primaryAddress.family) like the primary address \(primaryAddress); use a separate instance per family")
            }
            guard Set(virtualAddresses).count == virtualAddresses.count else {
                throw ConfigurationError(field: "virtualAddresses", problem: "lists an address twice")
            }
            guard acceptedIntervalFactor <= 1000 else {
                throw ConfigurationError(field: "acceptedIntervalFactor", problem: "must be 0...1000, got \(acceptedIntervalFactor)")
            }
            guard preemptDelay >= .zero, preemptDelay <= .seconds(1000) else {
                throw ConfigurationError(field: "preemptDelay", problem: "must be 0...1000 s")
            }
            switch (version, authentication) {
            case (_, .none), (.v2, .simplePassword):
                break
            case (.v3, .simplePassword), (.v3, .other):
                throw ConfigurationError(field: "authentication", problem: "VRRPv3 has no authentication (RFC 5798 §9); remove it or use version 2")
            case (.v2, .other(let type, _)):
                throw ConfigurationError(field: "authentication", problem: "only simple password (type 1) is supported, got type \(type)")
            }
        }
    }

    /// A configuration value out of range, naming the field so the config layer can point at its line.
    public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var problem: String

        public init(field: String, problem: String) {
            self.field = field
            self.problem = problem
        }

        public var description: String { "\(field): \(problem)" }
    }
}
