import ClusterupCore
import ClusterupNodes
import Foundation

/// One TLS endpoint whose certificate `verify` reads on the wire, and the installed file it must present.
public struct ServedEndpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case etcdClient = "etcd client"
        case etcdPeer = "etcd peer"
        case apiserver
        /// HAProxy passes TLS through: the VIP presents some control-plane host's apiserver.crt.
        case apiserverViaVIP = "apiserver via VIP"
    }

    public var kind: Kind
    /// The host whose installed certificate must be served; nil through the VIP (any control-plane host's).
    public var host: String?
    public var address: String
    public var port: Int
    /// Path on the node, under /etc/kubernetes/pki.
    public var installedPath: String

    public init(kind: Kind, host: String?, address: String, port: Int, installedPath: String) {
        self.kind = kind
        self.host = host
        self.address = address
        self.port = port
        self.installedPath = installedPath
    }

    /// etcd's peer port refuses a client without a certificate of the etcd CA.
    public var wantsClientCertificate: Bool { kind == .etcdPeer }

    public var description: String { "\(kind.rawValue) \(address):\(port)" }

    public static let apiserverPort = 6443
    public static let etcdClientPort = 2379
    public static let etcdPeerPort = 2380
}

public enum ServedEndpoints {
    /// Every endpoint of `hosts` by role (on each host's private address, where the units listen),
    /// then the VIP when the inventory has one and lb hosts.
    public static func plan(_ inventory: Inventory, hosts: [InventoryHost]) -> [ServedEndpoint] {
        let pki = NodeLayout.pkiDirectory
        var endpoints: [ServedEndpoint] = []
        for host in hosts {
            if host.roles.contains(.etcd) {
                endpoints.append(ServedEndpoint(kind: .etcdClient, host: host.name, address: host.privateAddress,
                                                port: ServedEndpoint.etcdClientPort, installedPath: "\(pki)/etcd/server.crt"))
                endpoints.append(ServedEndpoint(kind: .etcdPeer, host: host.name, address: host.privateAddress,
                                                port: ServedEndpoint.etcdPeerPort, installedPath: "\(pki)/etcd/peer.crt"))
            }
            if host.roles.contains(.controlPlane) {
                endpoints.append(ServedEndpoint(kind: .apiserver, host: host.name, address: host.privateAddress,
                                                port: ServedEndpoint.apiserverPort, installedPath: "\(pki)/apiserver.crt"))
            }
        }
        if let vip = inventory.vip, !inventory.hosts(withRole: .lb).isEmpty, !inventory.hosts(withRole: .controlPlane).isEmpty {
            endpoints.append(ServedEndpoint(kind: .apiserverViaVIP, host: nil, address: vip.address, port: vip.port,
                                            installedPath: "\(pki)/apiserver.crt"))
        }
        return endpoints
    }
}

/// The check "served certificates match installed": each server presents the serial of the file
/// installed on its host. Pure: reads and surveys come in as values.
public enum ServedCertificateCheck {
    public static let name = "served-certificates"

    /// Installed serials by host, then path, from the surveys (hosts without a survey are absent).
    public static func installedSerials(_ surveys: [(host: InventoryHost, survey: Result<HostSurvey, ClusterupError>)]) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for (host, outcome) in surveys {
            guard case .success(let survey) = outcome else { continue }
            result[host.name] = Dictionary(survey.certificates.compactMap { cert in cert.serial.map { (cert.path, $0) } },
                                           uniquingKeysWith: { first, _ in first })
        }
        return result
    }

    /// One result per host with endpoints, and one for the VIP.
    public static func evaluate(
        _ endpoints: [ServedEndpoint], served: [ServedEndpoint: Result<ServedCertificate, ClusterupError>],
        installed: [String: [String: String]]
    ) -> [CheckResult] {
        var order: [String?] = []
        var problems: [String?: [String]] = [:]
        var good: [String?: [String]] = [:]
        for endpoint in endpoints {
            if !order.contains(endpoint.host) { order.append(endpoint.host) }
            switch verdict(endpoint, served: served[endpoint], installed: installed) {
            case .success(let note): good[endpoint.host, default: []].append(note)
            case .failure(let problem): problems[endpoint.host, default: []].append(problem.message)
            }
        }
        return order.map { host in
            let bad = problems[host] ?? []
            return CheckResult(
                check: name, host: host, ok: bad.isEmpty,
                detail: bad.isEmpty
                    ? "served certificates match installed: " + (good[host] ?? []).joined(separator: ", ")
                    : bad.joined(separator: "; "))
        }
    }

    struct Problem: Error { var message: String }

    static func verdict(
        _ endpoint: ServedEndpoint, served: Result<ServedCertificate, ClusterupError>?,
        installed: [String: [String: String]]
    ) -> Result<String, Problem> {
        let file = String(endpoint.installedPath.dropFirst(NodeLayout.pkiDirectory.count + 1))
        let presented: ServedCertificate
        switch served {
        case nil: return .failure(Problem(message: "\(endpoint): not read"))
        case .failure(let error)?: return .failure(Problem(message: "\(endpoint): \(error.message)"))
        case .success(let certificate)?: presented = certificate
        }
        guard let host = endpoint.host else {
            // Through the VIP: whichever backend answered must serve its own installed file.
            let owners = installed.filter { $0.value[endpoint.installedPath] == presented.serial }.keys.sorted()
            if let owner = owners.first { return .success("\(endpoint.kind.rawValue) (\(owner)'s \(file))") }
            return .failure(Problem(message: "\(endpoint) serves serial \(presented.serial) (issuer \(presented.issuer)), "
                + "installed on no control-plane host surveyed (\(installed.keys.sorted().joined(separator: ", ")))"))
        }
        guard let files = installed[host] else {
            return .failure(Problem(message: "\(endpoint.kind.rawValue): installed certificate unknown (no survey of \(host))"))
        }
        guard let expected = files[endpoint.installedPath] else {
            return .failure(Problem(message: "\(endpoint.kind.rawValue): \(file) is not installed or unreadable"))
        }
        guard expected == presented.serial else {
            return .failure(Problem(message: "\(endpoint) serves serial \(presented.serial) (issuer \(presented.issuer)), "
                + "installed \(file) has \(expected): the server still uses an older file; restart it or re-run deploy"))
        }
        return .success(endpoint.kind.rawValue)
    }
}

extension ServedCertificateReader {
    /// Reads every endpoint at once, each on its own thread. `clientFor` gives the client
    /// certificate and key to present on endpoints that want one.
    public static func readAll(
        _ endpoints: [ServedEndpoint], client: (certificate: String, key: String)?, timeout: Duration = .seconds(3)
    ) async -> [ServedEndpoint: Result<ServedCertificate, ClusterupError>] {
        let results = await FanOut().run(endpoints, name: \.description, initialStep: "handshake") { endpoint, _ in
            let reader = ServedCertificateReader(
                clientCertificate: endpoint.wantsClientCertificate ? client?.certificate : nil,
                clientKey: endpoint.wantsClientCertificate ? client?.key : nil, timeout: timeout)
            return try reader.read(host: endpoint.address, port: endpoint.port)
        }
        var served: [ServedEndpoint: Result<ServedCertificate, ClusterupError>] = [:]
        for (endpoint, result) in zip(endpoints, results) {
            if let value = result.value {
                served[endpoint] = .success(value)
            } else {
                let error = result.error.map { ($0 as? ClusterupError) ?? .local(describe($0)) } ?? .local("not read")
                served[endpoint] = .failure(error)
            }
        }
        return served
    }
}
