import ClusterupCore

/// Where the prober connects: `HOST:PORT`, by default the control-plane endpoint (VIP and
/// `vip.port`, HAProxy's frontend). HOST is an IPv4 address or a DNS name resolved once at start.
public struct ProbeTarget: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `--target`: `198.51.100.62:8443`, `api.example.com:443`.
    public static func parse(_ text: String, field: String = "--target") throws(ClusterupError) -> ProbeTarget {
        let hint = "write HOST:PORT, e.g. 198.51.100.62:8443"
        guard let colon = text.lastIndex(of: ":") else {
            throw .badInput("\(field) '\(text)' has no port", at: field, hint: hint)
        }
        let host = String(text[..<colon])
        guard let address = NetworkAddress(host), !address.isIPv6 else {
            throw .badInput("\(field) '\(text)' needs an IPv4 address or a DNS name before the port (IPv6 is not probed)",
                            at: field, hint: hint)
        }
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw .badInput("\(field) '\(text)' has no port between 1 and 65535", at: field, hint: hint)
        }
        return ProbeTarget(host: host, port: port)
    }

    /// An IPv4 literal is verified against the certificate's IP SANs, anything else as a DNS name.
    public var isIPv4Literal: Bool {
        if case .ipv4? = NetworkAddress(host) { return true }
        return false
    }

    public var description: String { "\(host):\(port)" }
}

/// What a probe checks once connected.
public enum ProbeKind: Sendable, Equatable {
    /// The TCP handshake completes (HAProxy accepted on the VIP).
    case tcp
    /// A TLS handshake verifying the server against `https.caFile`, then `GET path`, counted as a
    /// success only on HTTP 200: the request went through HAProxy to a ready apiserver.
    case https(HTTPSProbe)

    public var name: String {
        switch self {
        case .tcp: "tcp"
        case .https: "https"
        }
    }
}

public struct HTTPSProbe: Sendable, Equatable {
    public var path: String
    /// PEM bundle of the CA(s) the server certificate must chain to (the cluster CA by default).
    public var caFile: String
    /// Client certificate and key (PEM), for an apiserver that refuses anonymous /readyz.
    public var clientCertificate: String?
    public var clientKey: String?

    public init(path: String = "/readyz", caFile: String, clientCertificate: String? = nil, clientKey: String? = nil) {
        self.path = path
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }
}
