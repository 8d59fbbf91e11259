import ClusterupCore
import Foundation

/// The full PKI of a cluster as values: which CA signs what, subjects, SANs, usages, validity.
///
/// Layout under the PKI directory (kubeadm's /etc/kubernetes/pki, split per node so each node's
/// set uploads on its own):
///
///     ca.crt ca.key  etcd/ca.crt etcd/ca.key  front-proxy-ca.crt front-proxy-ca.key
///     sa.key sa.pub
///     admin.conf admin.crt admin.key                  (also controller-manager.*, scheduler.*)
///     nodes/<node>/etcd/server.crt .key               etcd nodes
///     nodes/<node>/etcd/peer.crt .key
///     nodes/<node>/etcd/healthcheck-client.crt .key
///     nodes/<node>/apiserver.crt .key                 control-plane nodes
///     nodes/<node>/apiserver-kubelet-client.crt .key
///     nodes/<node>/apiserver-etcd-client.crt .key
///     nodes/<node>/front-proxy-client.crt .key
///
/// `nodes/<node>/` mirrors /etc/kubernetes/pki/ on that node: copy it there together with the
/// CA certificates (and, for control-plane nodes, `sa.*`); see `files(forNode:)`.
public struct PKIPlan: Sendable, Equatable {
    public var authorities: [CertificateSpec]
    public var leaves: [CertificateSpec]
    public var serviceAccount = KeyPairSpec()
    public var kubeconfigs: [KubeconfigSpec]
    public var algorithm: KeyAlgorithm
    public var renewBefore: TimeInterval
    public var externalCA: PKISettings.ExternalCA?

    public var certificates: [CertificateSpec] { authorities + leaves }

    public func certificate(named name: String) -> CertificateSpec? {
        certificates.first { $0.name == name }
    }

    /// Validates the request and computes the plan. Errors name the node or field at fault.
    public init(request: PKIRequest) throws(ClusterupError) {
        let settings = request.settings
        algorithm = settings.algorithm
        renewBefore = settings.renewBefore.totalSeconds
        externalCA = settings.externalCA
        try Self.validate(request)

        // Leaf keys: RSA keys may encipher (TLS RSA key exchange), EC keys only sign.
        let leafUsage: KeyUsage = settings.algorithm.rsaBits == nil
            ? [.digitalSignature] : [.digitalSignature, .keyEncipherment]

        authorities = CertificateAuthority.allCases.map { ca in
            CertificateSpec(
                name: ca.rawValue, kind: ca.rawValue, node: nil,
                certificatePath: ca.certificatePath, keyPath: ca.keyPath,
                signer: .selfSigned(pathLength: 0),
                subject: DistinguishedName(commonName: ca.commonName),
                subjectAlternativeNames: [],
                keyUsage: [.digitalSignature, .keyCertSign, .cRLSign], extendedKeyUsage: [],
                validity: settings.caValidity.totalSeconds)
        }

        func leaf(
            _ kind: String, node: String?, path: String, by ca: CertificateAuthority,
            cn: String, o: [String] = [], sans: [SubjectAlternativeName] = [],
            usages: [ExtendedKeyUsage]
        ) -> CertificateSpec {
            CertificateSpec(
                name: node.map { "\(kind)@\($0)" } ?? kind, kind: kind, node: node,
                certificatePath: path + ".crt", keyPath: path + ".key",
                signer: .authority(ca), subject: DistinguishedName(commonName: cn, organizations: o),
                subjectAlternativeNames: Array(Set(sans)).sorted(),
                keyUsage: leafUsage, extendedKeyUsage: usages, validity: settings.leafValidity.totalSeconds)
        }

        let vip = try Self.san(request.vipAddress, at: "vip.address")
        var extra: [SubjectAlternativeName] = []
        for (index, text) in settings.extraSANs.enumerated() {
            extra.append(try Self.san(text, at: "pki.extra_sans[\(index)]"))
        }
        var lbName: [SubjectAlternativeName] = []
        if let text = request.loadBalancerDNSName { lbName.append(try Self.san(text, at: "vip.dns_name")) }
        guard let serviceIP = IPAddress.firstServiceAddress(ofCIDR: settings.serviceCIDR) else {
            throw .badInput("'\(settings.serviceCIDR)' is not a CIDR block", at: "pki.service_cidr",
                            hint: "write it as address/prefix, e.g. 10.96.0.0/12")
        }
        let domain = settings.clusterDomain.lowercased()
        let serviceNames = ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                            "kubernetes.default.svc.\(domain)"].map(SubjectAlternativeName.dnsName)
        let loopback: [SubjectAlternativeName] = [.dnsName("localhost"), .ipAddress(IPAddress("127.0.0.1")!), .ipAddress(IPAddress("::1")!)]

        var leaves: [CertificateSpec] = []
        for node in request.nodes {
            let nodeSANs = try Self.sans(of: node)
            let dir = "nodes/\(node.name)/"
            if node.roles.contains(.etcd) {
                // etcd's gRPC gateway dials itself with the server certificate, hence clientAuth too.
                leaves.append(leaf("etcd-server", node: node.name, path: dir + "etcd/server", by: .etcd,
                                   cn: node.name, sans: nodeSANs + loopback, usages: [.serverAuth, .clientAuth]))
                leaves.append(leaf("etcd-peer", node: node.name, path: dir + "etcd/peer", by: .etcd,
                                   cn: node.name, sans: nodeSANs, usages: [.serverAuth, .clientAuth]))
                leaves.append(leaf("etcd-healthcheck-client", node: node.name, path: dir + "etcd/healthcheck-client",
                                   by: .etcd, cn: "kube-etcd-healthcheck-client", usages: [.clientAuth]))
            }
            if node.roles.contains(.controlPlane) {
                var apiserverSANs = nodeSANs + [vip] + lbName
                apiserverSANs += serviceNames + [.ipAddress(serviceIP)] + extra
                leaves.append(leaf("apiserver", node: node.name, path: dir + "apiserver", by: .kubernetes,
                                   cn: "kube-apiserver",
                                   sans: apiserverSANs,
                                   usages: [.serverAuth]))
                leaves.append(leaf("apiserver-kubelet-client", node: node.name, path: dir + "apiserver-kubelet-client",
                                   by: .kubernetes, cn: "kube-apiserver-kubelet-client", o: ["system:masters"],
                                   usages: [.clientAuth]))
                leaves.append(leaf("apiserver-etcd-client", node: node.name, path: dir + "apiserver-etcd-client",
                                   by: .etcd, cn: "kube-apiserver-etcd-client", o: ["system:masters"],
                                   usages: [.clientAuth]))
                leaves.append(leaf("front-proxy-client", node: node.name, path: dir + "front-proxy-client",
                                   by: .frontProxy, cn: "front-proxy-client", usages: [.clientAuth]))
            }
        }

        // kubeadm's users: admin is in system:masters (no kubeadm RBAC binding exists here).
        let clients: [(file: String, cn: String, o: [String])] = [
            ("admin", "kubernetes-admin", ["system:masters"]),
            ("controller-manager", "system:kube-controller-manager", []),
            ("scheduler", "system:kube-scheduler", []),
        ]
        let server = "https://\(vip.urlHost):\(request.vipPort)"
        kubeconfigs = []
        for client in clients {
            let spec = leaf("\(client.file).conf", node: nil, path: client.file, by: .kubernetes,
                            cn: client.cn, o: client.o, usages: [.clientAuth])
            leaves.append(spec)
            kubeconfigs.append(KubeconfigSpec(path: "\(client.file).conf", clientCertificate: spec.name,
                                              clusterName: request.clusterName, serverURL: server,
                                              userName: client.cn))
        }
        self.leaves = leaves
    }

    static func sans(of node: PKIRequest.Node) throws(ClusterupError) -> [SubjectAlternativeName] {
        var result = [SubjectAlternativeName.dnsName(node.name.lowercased())]
        for (index, address) in node.addresses.enumerated() {
            result.append(try san(address, at: "host \(node.name), address[\(index)]"))
        }
        return result
    }

    static func san(_ text: String, at location: String) throws(ClusterupError) -> SubjectAlternativeName {
        do { return try SubjectAlternativeName(parsing: text) } catch { throw error.located(location) }
    }

    static func validate(_ request: PKIRequest) throws(ClusterupError) {
        let settings = request.settings
        guard !request.nodes.isEmpty else {
            throw .badInput("the inventory has no hosts", at: "hosts", hint: "add at least one host with role etcd and control-plane")
        }
        var seen = Set<String>()
        for node in request.nodes {
            guard SubjectAlternativeName.isValidDNSName(node.name.lowercased()), !node.name.hasPrefix("*") else {
                throw .badInput("host name '\(node.name)' cannot be used in certificates", at: "hosts",
                                hint: "use letters, digits, '-' and '.' only")
            }
            guard seen.insert(node.name).inserted else {
                throw .badInput("host name '\(node.name)' appears twice", at: "hosts")
            }
        }
        guard (1...65535).contains(request.vipPort) else {
            throw .badInput("VIP port \(request.vipPort) is out of range", at: "vip.port", hint: "use 1-65535")
        }
        guard settings.caValidity > .zero, settings.leafValidity > .zero, settings.renewBefore >= .zero else {
            throw .badInput("validity periods must be positive", at: "pki",
                            hint: "set ca_validity and leaf_validity to durations like 3650d and 365d")
        }
        guard settings.renewBefore < settings.leafValidity else {
            throw .badInput("renew_before (\(Int(settings.renewBefore.totalSeconds / 86_400))d) is not shorter than leaf_validity",
                            at: "pki.renew_before",
                            hint: "otherwise every run would re-issue every certificate; e.g. leaf_validity 365d, renew_before 30d")
        }
        guard SubjectAlternativeName.isValidDNSName(settings.clusterDomain.lowercased()) else {
            throw .badInput("'\(settings.clusterDomain)' is not a DNS domain", at: "pki.cluster_domain")
        }
    }

    /// Files of one node's set: (path under the PKI directory, path under the node's
    /// /etc/kubernetes/pki). CA certificates always; CA keys and `sa.*` only for control-plane nodes.
    public func files(forNode node: String) -> [(local: String, remote: String)] {
        var result: [(local: String, remote: String)] = []
        let mine = leaves.filter { $0.node == node }
        guard !mine.isEmpty else { return [] }
        for ca in CertificateAuthority.allCases { result.append((ca.certificatePath, ca.certificatePath)) }
        let prefix = "nodes/\(node)/"
        for spec in mine {
            for path in [spec.certificatePath, spec.keyPath] {
                result.append((path, String(path.dropFirst(prefix.count))))
            }
        }
        if mine.contains(where: { $0.kind == "apiserver" }) {
            for ca in CertificateAuthority.allCases where !(ca == .kubernetes && externalCA != nil) {
                result.append((ca.keyPath, ca.keyPath))
            }
            result.append((serviceAccount.privateKeyPath, serviceAccount.privateKeyPath))
            result.append((serviceAccount.publicKeyPath, serviceAccount.publicKeyPath))
        }
        return result
    }
}

extension SubjectAlternativeName {
    /// Host part of a URL: IPv6 literals in brackets.
    var urlHost: String {
        switch self {
        case .dnsName(let name): name
        case .ipAddress(let ip): ip.isIPv6 ? "[\(ip)]" : ip.description
        }
    }
}

extension ClusterupError {
    /// The same error, placed at a field when it had no location yet.
    func located(_ location: String) -> ClusterupError {
        var copy = self
        if copy.location == nil { copy.location = location }
        return copy
    }
}
