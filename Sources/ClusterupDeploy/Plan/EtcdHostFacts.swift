import ClusterupCore
import ClusterupNodes
import Foundation

/// What an etcd host has of its member, as the plan's probe reads it: data on disk, whether
/// systemd runs it, its binary's version, and (from one running member) the member list.
struct EtcdHostFacts: Sendable, Equatable {
    var hasData: Bool
    /// systemd says the member runs.
    var active: Bool
    var members: [EtcdMember]?
    /// What the host's etcd binary says it is (`3.5.16`); nil when there is none or it says nothing.
    var version: EtcdVersion?

    static let versionMarker = "etcd-version "

    /// One round trip: whether the data directory holds a member, whether etcd runs, the etcd
    /// binary's version (when `etcd` names one), and if it runs and `listMembers`, the member
    /// list (omitted when etcdctl fails: the member may be starting).
    static func probeScript(dataDirectory: String, etcdctl: String, listMembers: Bool = true, etcd: String? = nil) -> String {
        var script = """
        if [ -d \(shellQuote(dataDirectory))/member ]; then echo data; else echo empty; fi
        active=$(systemctl is-active etcd.service 2>/dev/null); echo "${active:-unknown}"

        """
        if let etcd {
            script += "echo \"\(versionMarker)$(\(shellQuote(etcd)) --version 2>/dev/null | sed -n 's/^etcd Version: //p' | head -n 1)\"\n"
        }
        if listMembers {
            script += """
            if [ "$active" = active ]; then
              members=$(\(Etcdctl.command(etcdctl, "member list -w json")) 2>/dev/null) && printf '%s\\n' "$members"
            fi

            """
        }
        return script + "true\n"
    }

    static func parse(_ output: String, host: String) throws -> EtcdHostFacts {
        var lines = output.split(separator: "\n", maxSplits: 2).map(String.init)
        let hasData = lines.first == "data"
        let active = lines.dropFirst().first == "active"
        var version: EtcdVersion?
        if lines.count > 2, lines[2].hasPrefix(versionMarker) {
            let rest = lines[2].split(separator: "\n", maxSplits: 1).map(String.init)
            version = EtcdVersion(String(rest[0].dropFirst(versionMarker.count)))
            lines[2] = rest.count > 1 ? rest[1] : ""
        }
        let list = lines.count > 2 ? lines[2].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return EtcdHostFacts(hasData: hasData, active: active,
                             members: active && !list.isEmpty ? try EtcdMember.parseList(list, host: host) : nil,
                             version: version)
    }
}
