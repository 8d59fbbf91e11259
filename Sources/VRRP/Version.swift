/// VRRP protocol versions: 3 is RFC 5798, 2 is RFC 3768 (spoken for keepalived compatibility).
public enum VRRPVersion: UInt8, Sendable, Hashable {
    case v2 = 2
    case v3 = 3
}
