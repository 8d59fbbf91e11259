import ArgumentParser
import ClusterupCore
import ClusterupVerify
import Foundation

extension Clusterup {
    /// `clusterup verify [checks] [INVENTORY]`: every check that changes nothing on the hosts.
    struct VerifyChecks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checks",
            abstract: "Run every non-disruptive check of a deployed cluster (the default of `verify`).",
            discussion: """
            Connects to every host and checks: SSH, exactly one lb host holds each VIP (two or more is split brain), \
            etcd health over TLS on every etcd member, the certificates under /etc/kubernetes/pki are valid and do not \
            expire within --expiry-days, HAProxy sees every kube-apiserver up on every lb host, and the services each \
            host's roles run are active (etcd, kube-*, haproxy, the VRRP daemon). Exits 1 when any check fails.

            Examples:
              clusterup verify
              clusterup verify lab.yml --expiry-days 60
              clusterup verify --output json | jq '.checks[] | select(.ok == false)'
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Fail a certificate that expires within this many days.")
        var expiryDays: Int = 30

        func validate() throws {
            guard expiryDays >= 0 else { throw ValidationError("--expiry-days must be 0 or more") }
        }

        func run() async throws {
            let (loaded, hosts) = try inventory.loadSelection()
            let connector = try ssh.connector(for: loaded)
            let surveys = await ClusterSurvey.run(hosts, inventory: loaded, connector: connector,
                                                  fanOut: fanOut.fanOut(clock: .continuous))
            let results = VerifyEvaluator(inventory: loaded, now: Date(), expiryDays: expiryDays).evaluate(surveys)
            let failed = results.filter { !$0.ok }
            if output.isJSON {
                print(JSONValue.object([
                    ("ok", .bool(failed.isEmpty)),
                    ("split_brain", .bool(results.contains { $0.check == "vip" && $0.detail.hasPrefix("split brain") })),
                    ("checks", .array(results.map(\.json))),
                ]).pretty)
            } else {
                let rows = results.map { [$0.host ?? "(cluster)", $0.check, !$0.ok ? "FAIL" : $0.warning ? "WARN" : "ok", $0.detail] }
                print(TextTable.render(header: ["HOST", "CHECK", "RESULT", "DETAIL"], rows: rows), terminator: "")
                print(failed.isEmpty
                      ? "verify: all \(results.count) checks passed"
                      : "verify: \(failed.count) of \(results.count) checks failed")
            }
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }
}
