import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import Foundation

extension Clusterup {
    /// `clusterup check [INVENTORY]`: what deploy's preflight sees, for every host.
    struct CheckCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Connect to every host and report whether it is ready for deploy.",
            discussion: """
            Reports per host: OS, kernel, architecture, systemd, clock skew against this machine, free disk under /var/lib, swap, and whether the ports its roles need are free (2379/2380 for etcd, 6443 for control-plane, the VIP port for lb; ports held by clusterup's own services count as free). Deploy runs the same checks as its preflight and refuses on any error. Exits 1 when a host has an error or cannot be reached.

            Examples:
              clusterup check
              clusterup check lab.yml --hosts node1
              clusterup check --output json | jq '.[] | select(.ok == false)'
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (loaded, hosts) = try inventory.loadSelection()
            let connector = try ssh.connector(for: loaded)
            let lbPort = loaded.vip?.port ?? 8443
            let results = await fanOut.fanOut(clock: .continuous).run(hosts, initialStep: "connecting") { host, reporter in
                let connection = try connector.connect(host)
                defer { connection.close() }
                reporter.step("probing")
                return try HostCheck.run(host, connection: connection, lbPort: lbPort)
            }
            var bad = 0
            var rows: [[String]] = []
            var objects: [JSONValue] = []
            for result in results {
                guard let check = result.value else {
                    bad += 1
                    let error = explain(result.error ?? CancellationError())
                    rows.append([result.host, "unreachable", "", "", "", "", "", "", error])
                    objects.append(.object([("host", .string(result.host)), ("ok", .bool(false)), ("error", .string(error))]))
                    continue
                }
                if check.worst == .error { bad += 1 }
                rows.append(CheckReport.row(result.host, check))
                objects.append(CheckReport.json(result.host, check))
            }
            if output.isJSON {
                print(JSONValue.array(objects).pretty)
            } else {
                print(TextTable.render(header: ["HOST", "OS", "KERNEL", "ARCH", "SYSTEMD", "CLOCK SKEW", "DISK FREE", "SWAP", "PROBLEMS"], rows: rows), terminator: "")
                print("\(results.count - bad) of \(results.count) host(s) ready")
            }
            if bad > 0 { throw ExitCode(1) }
        }
    }
}

enum CheckReport {
    static func row(_ host: String, _ check: HostCheck) -> [String] {
        let facts = check.facts
        let problems = check.findings.filter { $0.severity != .ok }
            .map { "\($0.severity == .error ? "ERROR" : "warn") \($0.check): \($0.detail)" }
        return [
            host, facts.os, facts.kernel, facts.arch, facts.systemdVersion.map(String.init) ?? "no",
            String(format: "%+.3f s", check.clockSkewSeconds), gib(facts.diskFreeBytes), gib(facts.swapTotalBytes),
            problems.isEmpty ? "none; ports free" : problems.joined(separator: "; "),
        ]
    }

    static func json(_ host: String, _ check: HostCheck) -> JSONValue {
        let facts = check.facts
        return .object([
            ("host", .string(host)), ("ok", .bool(check.worst != .error)),
            ("hostname", .string(facts.hostname)), ("os", .string(facts.os)), ("kernel", .string(facts.kernel)),
            ("arch", .string(facts.arch)), ("systemd", .optional(facts.systemdVersion)),
            ("clock_skew_seconds", .double(check.clockSkewSeconds)),
            ("disk_free_bytes", .int(facts.diskFreeBytes)), ("swap_bytes", .int(facts.swapTotalBytes)),
            ("memory_bytes", .int(facts.memoryTotalBytes)),
            ("findings", .array(check.findings.map { finding in
                .object([("check", .string(finding.check)), ("severity", .string(finding.severity.rawValue)),
                         ("detail", .string(finding.detail))])
            })),
        ])
    }

    static func gib(_ bytes: Int64) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
}
