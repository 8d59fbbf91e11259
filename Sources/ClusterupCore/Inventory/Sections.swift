/// How clients reach the control plane: the virtual IP that VRRP moves between the lb hosts.
public struct VIPSettings: Sendable, Equatable {
    /// IPv4 or IPv6 literal.
    public var address: String
    /// Prefix length when the address is added to the interface (default 32 for IPv4, 128 for IPv6).
    public var prefix: Int
    /// HAProxy's frontend port on the VIP (the apiservers themselves listen on 6443).
    public var port: Int
    /// Optional DNS name of the load balancer; goes into the apiserver certificate's SANs.
    public var dnsName: String?

    public static let defaultPort = 8443

    public init(address: String, prefix: Int? = nil, port: Int = defaultPort, dnsName: String? = nil) {
        self.address = address
        self.prefix = prefix ?? (address.contains(":") ? 128 : 32)
        self.port = port
        self.dnsName = dnsName
    }

    public var isIPv6: Bool { address.contains(":") }
}

/// The VRRP instance carrying the VIP (RFC 3768 for version 2, RFC 5798 / RFC 9568 for version 3).
public struct VRRPSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, CaseIterable {
        case clusterupVRRPD = "clusterup-vrrpd"
        case keepalived
    }

    /// Which bytes the VRRPv3 IPv4 checksum covers.
    public enum Checksum: String, Sendable, CaseIterable {
        /// RFC 5798: the IPv4 pseudo-header is included.
        case pseudoHeader = "pseudo-header"
        /// RFC 9568 allows the VRRP message alone, as some implementations compute it.
        case messageOnly = "message-only"
    }

    /// Gratuitous ARP / unsolicited neighbour advertisements sent on becoming master.
    public struct GARP: Sendable, Equatable {
        public var repeatCount: Int
        public var delay: Duration
        /// Re-announce periodically while master; zero disables.
        public var refresh: Duration

        public init(repeatCount: Int = 5, delay: Duration = .zero, refresh: Duration = .zero) {
            self.repeatCount = repeatCount
            self.delay = delay
            self.refresh = refresh
        }
    }

    /// Health checks that lower the priority (weight) or fail the instance (weight 0).
    public struct Track: Sendable, Equatable {
        public var http: String?
        /// `host:port` to connect to.
        public var tcp: String?
        public var interval: Duration
        public var timeout: Duration
        public var rise: Int
        public var fall: Int
        public var weight: Int
        public var scripts: [Script]
        public var interfaces: [String]

        public init(
            http: String? = nil, tcp: String? = nil, interval: Duration = .seconds(1), timeout: Duration = .seconds(1),
            rise: Int = 2, fall: Int = 2, weight: Int = 0, scripts: [Script] = [], interfaces: [String] = []
        ) {
            self.http = http
            self.tcp = tcp
            self.interval = interval
            self.timeout = timeout
            self.rise = rise
            self.fall = fall
            self.weight = weight
            self.scripts = scripts
            self.interfaces = interfaces
        }

        public var isEmpty: Bool { http == nil && tcp == nil && scripts.isEmpty && interfaces.isEmpty }
    }

    public struct Script: Sendable, Equatable {
        public var name: String
        public var command: String
        public var interval: Duration
        public var timeout: Duration
        public var rise: Int
        public var fall: Int
        public var weight: Int

        public init(name: String, command: String, interval: Duration, timeout: Duration, rise: Int, fall: Int, weight: Int) {
            self.name = name
            self.command = command
            self.interval = interval
            self.timeout = timeout
            self.rise = rise
            self.fall = fall
            self.weight = weight
        }
    }

    public var backend: Backend
    /// Interface carrying VRRP and the VIP; required when there are lb hosts.
    public var interface: String?
    /// Virtual router id, 1...255.
    public var vrid: Int
    /// 2 or 3.
    public var version: Int
    public var advertInterval: Duration
    /// Explicit priorities by host name, as written. See `Inventory.vrrpPriorities` for the resolved map.
    public var priorities: [String: Int]
    public var preempt: Bool
    public var preemptDelay: Duration
    /// Send adverts by unicast to the other lb hosts' private addresses instead of multicast.
    public var unicast: Bool
    public var checksum: Checksum
    /// VRRPv2 simple-text authentication (keepalived compatibility), at most 8 characters.
    public var authPassword: String?
    public var garp: GARP
    public var track: Track
    /// SCHED_RR priority of the VRRP daemon's event loop (keepalived: `vrrp_rt_priority`),
    /// 1...99; 0 = normal scheduling.
    public var realtimePriority: Int
    /// VRRPv3, clusterup-vrrpd: a Master's advertised interval is adopted only up to this multiple
    /// of ours, so one forged advert cannot stall failover for minutes; 0 adopts any (RFC 5798).
    public var maxIntervalFactor: Int = defaultMaxIntervalFactor
    /// Unicast mode, clusterup-vrrpd: hear only peers on this link (TTL / hop limit 255), as
    /// multicast mode always does. The lb hosts share the VIP's segment, so this is the default.
    public var unicastTTLCheck = true

    public static let defaultMaxIntervalFactor = 10
    public static let defaultVRID = 51
    /// As clusterup-vrrpd's own default: adverts leave on time on a node whose cores are busy.
    public static let defaultRealtimePriority = 10
    public static let defaultVersion = 3
    /// Highest priority a router that does not own the address may have (255 is the owner's).
    public static let maximumPriority = 254

    public init(
        backend: Backend = .clusterupVRRPD, interface: String? = nil, vrid: Int = defaultVRID,
        version: Int = defaultVersion, advertInterval: Duration? = nil, priorities: [String: Int] = [:],
        preempt: Bool = true, preemptDelay: Duration = .zero, unicast: Bool = false,
        checksum: Checksum = .pseudoHeader, authPassword: String? = nil, garp: GARP = GARP(), track: Track = Track(),
        realtimePriority: Int = defaultRealtimePriority
    ) {
        self.backend = backend
        self.interface = interface
        self.vrid = vrid
        self.version = version
        // VRRPv2 counts in whole seconds; v3 in centiseconds, where a fast 100 ms makes failover quick.
        self.advertInterval = advertInterval ?? (version == 2 ? .seconds(1) : .milliseconds(100))
        self.priorities = priorities
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.unicast = unicast
        self.checksum = checksum
        self.authPassword = authPassword
        self.garp = garp
        self.track = track
        self.realtimePriority = realtimePriority
    }
}

/// Where and how `certs gen` makes the cluster's PKI: the inventory's `pki` section, and what
/// ClusterupPKI's `PKIRequest` carries, so the two cannot drift apart.
public struct PKISettings: Sendable, Equatable {
    /// Bring-your-own CA: signs instead of a generated Kubernetes `ca`.
    public struct ExternalCA: Sendable, Equatable {
        /// Absolute paths.
        public var certificatePath: String
        public var keyPath: String
        /// Environment variable holding the key's passphrase, if the key is encrypted.
        public var passphraseEnvironmentVariable: String?

        public init(certificatePath: String, keyPath: String, passphraseEnvironmentVariable: String? = nil) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.passphraseEnvironmentVariable = passphraseEnvironmentVariable
        }
    }

    /// Absolute path of the directory holding the PKI (kubeadm layout).
    public var directory: String
    public var algorithm: KeyAlgorithm
    public var caValidity: Duration
    public var leafValidity: Duration
    /// `certs gen` re-issues a leaf that expires within this.
    public var renewBefore: Duration
    public var clusterDomain: String
    /// CIDR, e.g. `10.96.0.0/12`; its first address is the `kubernetes` service IP.
    public var serviceCIDR: String
    /// IP addresses and DNS names added to the apiserver certificate.
    public var extraSANs: [String]
    public var externalCA: ExternalCA?

    public static let defaultCAValidity = Duration.days(3650)
    public static let defaultLeafValidity = Duration.days(365)
    public static let defaultRenewBefore = Duration.days(30)

    public init(
        directory: String, algorithm: KeyAlgorithm = .ecdsaP256, caValidity: Duration = defaultCAValidity,
        leafValidity: Duration = defaultLeafValidity, renewBefore: Duration = defaultRenewBefore,
        clusterDomain: String = "cluster.local", serviceCIDR: String = "10.96.0.0/12", extraSANs: [String] = [],
        externalCA: ExternalCA? = nil
    ) {
        self.directory = directory
        self.algorithm = algorithm
        self.caValidity = caValidity
        self.leafValidity = leafValidity
        self.renewBefore = renewBefore
        self.clusterDomain = clusterDomain
        self.serviceCIDR = serviceCIDR
        self.extraSANs = extraSANs
        self.externalCA = externalCA
    }
}

/// The key algorithm of every key the PKI creates.
public enum KeyAlgorithm: String, Sendable, Hashable, CaseIterable, Codable {
    case ecdsaP256 = "ecdsa-p256"
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"
    case rsa4096 = "rsa-4096"

    /// RSA modulus size, nil for EC keys.
    public var rsaBits: Int32? {
        switch self {
        case .ecdsaP256: nil
        case .rsa2048: 2048
        case .rsa3072: 3072
        case .rsa4096: 4096
        }
    }
}

extension Inventory {
    /// Every lb host's VRRP priority: the explicit ones from `vrrp.priorities`, the rest by the default
    /// scheme (first lb host 254, next 253, ..., skipping values already taken), so Skew_Time is tiny.
    public var vrrpPriorities: [String: Int] {
        let explicit = vrrp?.priorities ?? [:]
        var taken = Set(explicit.values)
        var next = VRRPSettings.maximumPriority
        var result: [String: Int] = [:]
        for host in hosts(withRole: .lb) {
            if let priority = explicit[host.name] {
                result[host.name] = priority
                continue
            }
            while taken.contains(next) && next > 1 { next -= 1 }
            result[host.name] = next
            taken.insert(next)
            next = max(1, next - 1)
        }
        return result
    }
}
