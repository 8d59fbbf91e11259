import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupPKI
import ClusterupSSH
import ClusterupVerify
import Foundation

extension Clusterup {
    /// `clusterup verify [checks] [INVENTORY]`: every check that changes nothing on the hosts.
    struct VerifyChecksCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checks",
            abstract: "Run every non-disruptive check of a deployed cluster (the default of `verify`).",
            discussion: """
            Connects to every host and checks: SSH, exactly one lb host holds each VIP (two or more is split brain), \
            etcd health over TLS on every etcd member, the certificates under /etc/kubernetes/pki are valid and do not \
            expire within --expiry-days, HAProxy sees every kube-apiserver up on every lb host, and the services each \
            host's roles run are active (etcd, kube-*, haproxy, the VRRP daemon), and every TLS server presents the \
            certificate installed on its host (served-certificates: a handshake reads the serial on etcd's client and peer \
            ports, each apiserver's 6443 and the VIP, compared with the serial of the file under /etc/kubernetes/pki), and \
            the versions the hosts run keep the skew policy `upgrade plan` enforces (version-skew: etcd members at most one \
            minor apart, kube-apiservers at most one minor apart, controller-manager and scheduler never newer than the oldest \
            apiserver nor more than one minor behind the newest). Exits 1 when any check fails.

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
            var results = await verifyChecks(loaded, hosts: hosts, connector: connector,
                                             fanOut: fanOut.fanOut(clock: .continuous), expiryDays: expiryDays)
            // Hosts that did not answer are failed already (ssh): not waited for a second time.
            let unreachable = Set(results.filter { $0.check == "ssh" && !$0.ok }.compactMap(\.host))
            results += await versionSkewResults(loaded, hosts: hosts.filter { !unreachable.contains($0.name) }, connector: connector,
                                                concurrency: fanOut.concurrency, unreachable: unreachable.sorted())
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

/// Every check of `verify` on `hosts` (also run by `certs rotate-ca` before and after a phase).
func verifyChecks(
    _ loaded: Inventory, hosts: [InventoryHost], connector: HostConnector, fanOut: FanOut, expiryDays: Int = 30
) async -> [CheckResult] {
    let surveys = await ClusterSurvey.run(hosts, inventory: loaded, connector: connector, fanOut: fanOut)
    return VerifyEvaluator(inventory: loaded, now: Date(), expiryDays: expiryDays).evaluate(surveys)
        + (await servedCertificateResults(loaded, hosts: hosts, surveys: surveys).results)
}

/// The served-certificates check: every endpoint of `hosts` read on the wire and compared with
/// the serials the surveys found installed; also returns the reads (`certs renew --deploy` compares them).
func servedCertificateResults(
    _ loaded: Inventory, hosts: [InventoryHost], surveys: [(host: InventoryHost, survey: Result<HostSurvey, ClusterupError>)]
) async -> (results: [CheckResult], served: [ServedEndpoint: Result<ServedCertificate, ClusterupError>]) {
    let endpoints = ServedEndpoints.plan(loaded, hosts: hosts)
    let served = await ServedCertificateReader.readAll(endpoints, client: etcdClientCredential(loaded))
    return (ServedCertificateCheck.evaluate(endpoints, served: served, installed: ServedCertificateCheck.installedSerials(surveys)),
            served)
}

/// The version-skew check: what every host runs (as `upgrade plan` reads it) against the skew
/// policy's rules (`InstalledSkew`, the rules of `upgrade plan`): one failed result per rule
/// broken, else one passed result naming what was compared.
func versionSkewResults(_ loaded: Inventory, hosts: [InventoryHost], connector: HostConnector, concurrency: Int,
                        unreachable: [String] = []) async -> [CheckResult] {
    let readings = await UpgradeFactsCollector.versions(of: hosts, inventory: loaded, settings: loaded.deploy,
                                                        sessions: HostSessions(connector: connector, concurrency: concurrency))
    let read = readings.compactMap(\.value)
    let unread = unreachable + zip(hosts, readings).filter { $0.1.value == nil }.map(\.0.name)
    let violations = InstalledSkew.violations(read)
    let notRead = unread.isEmpty ? "" : " (not read on \(unread.joined(separator: ", ")))"
    guard violations.isEmpty else {
        return violations.map { CheckResult(check: "version-skew", host: nil, ok: false, detail: "\($0)\(notRead)") }
    }
    let components = Set(read.flatMap { $0.installed.filter { $0.value.version != nil }.keys }).sorted().map(\.rawValue)
    return [CheckResult(check: "version-skew", host: nil, ok: true,
                        detail: components.isEmpty ? "no version read\(notRead)" : "\(components.joined(separator: ", ")) within the skew policy\(notRead)")]
}

/// The local PKI's etcd healthcheck client (deploy's choice for talking to etcd), for etcd's peer
/// port; nil when this machine has no PKI (the peer port is then read without one).
func etcdClientCredential(_ inventory: Inventory) -> (certificate: String, key: String)? {
    guard let generator = try? PKIGenerator(request: PKIRequest(inventory: inventory)) else { return nil }
    for host in inventory.hosts(withRole: .etcd) {
        guard let spec = generator.plan.certificate(named: "etcd-healthcheck-client@\(host.name)") else { continue }
        let certificate = generator.directory.absolute(spec.certificatePath), key = generator.directory.absolute(spec.keyPath)
        if FileManager.default.isReadableFile(atPath: certificate), FileManager.default.isReadableFile(atPath: key) {
            return (certificate, key)
        }
    }
    return nil
}
