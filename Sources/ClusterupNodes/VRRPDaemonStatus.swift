import ClusterupCore
import Foundation
import VRRPConfig

/// One VRRP instance as clusterup-vrrpd reports it (`clusterup-vrrpd status`, written by
/// VRRPDaemon's `statusJSON`). The one decoder of that JSON: status, verify and the Day-2
/// operations read it through here.
public struct VRRPInstanceStatus: Sendable, Equatable, Decodable {
    public var name: String
    public var state: String
    public var vrid: Int
    public var priority: Int
    public var effectivePriority: Int?
    public var masterAddress: String?
    public var vips: [String]
    public var vipsInstalled: [String]

    public init(name: String, state: String, vrid: Int, priority: Int, effectivePriority: Int? = nil,
                masterAddress: String? = nil, vips: [String] = [], vipsInstalled: [String] = []) {
        self.name = name
        self.state = state
        self.vrid = vrid
        self.priority = priority
        self.effectivePriority = effectivePriority
        self.masterAddress = masterAddress
        self.vips = vips
        self.vipsInstalled = vipsInstalled
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: StatusField.self)
        name = try c.decode(String.self, forKey: .name)
        state = try c.decode(String.self, forKey: .state)
        vrid = try c.decode(Int.self, forKey: .vrid)
        priority = try c.decode(Int.self, forKey: .priority)
        effectivePriority = try c.decodeIfPresent(Int.self, forKey: .effectivePriority)
        masterAddress = try c.decodeIfPresent(String.self, forKey: .masterAddress)
        vips = try c.decodeIfPresent([String].self, forKey: .vips) ?? []
        vipsInstalled = try c.decodeIfPresent([String].self, forKey: .vipsInstalled) ?? []
    }

    /// Parses `clusterup-vrrpd status` output; the error names the host and what was read.
    public static func parse(_ json: String, host: String) throws -> [VRRPInstanceStatus] {
        struct Status: Decodable {
            var instances: [VRRPInstanceStatus]
            init(from decoder: any Decoder) throws {
                instances = try decoder.container(keyedBy: StatusField.self).decode([VRRPInstanceStatus].self, forKey: .instances)
            }
        }
        do {
            return try JSONDecoder().decode(Status.self, from: Data(json.utf8)).instances
        } catch {
            throw ClusterupError.remote("could not read `clusterup-vrrpd status`: \(error)", host: host)
        }
    }
}
