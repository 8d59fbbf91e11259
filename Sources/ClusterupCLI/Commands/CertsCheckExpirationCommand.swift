import ClusterupNodes
import ArgumentParser
import ClusterupCore
import ClusterupDeploy
import ClusterupPKI
import Foundation

extension Clusterup {
    struct CertsCheckExpirationCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-expiration",
            abstract: "List every certificate with its expiry, signing CA and whether it is missing or invalid.",
            discussion: "Exits 0 when everything is ok, 1 when something is missing, expired, invalid or outdated."
        )

        @OptionGroup var inventory: InventoryOptions

        @Flag(help: "Check what each node has installed under /etc/kubernetes/pki, over SSH.")
        var remote = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var ssh: SSHOptions

        func run() async throws {
            if remote { return try await runRemote() }
            let generator = try PKIGenerator(request: PKIRequest(inventory: inventory.loadWhole("the PKI covers the whole inventory")))
            let report = try generator.checkExpiration(now: Date())
            print(output.isJSON ? report.json() : report.table(), terminator: output.isJSON ? "\n" : "")
            if report.hasProblems { throw ExitCode(1) }
        }

        /// Remote path → local PEM of every certificate deploy gives `host`.
        static func expectedCertificates(_ generator: PKIGenerator, host: String) -> [String: String] {
            var expected: [String: String] = [:]
            for (local, remote) in generator.plan.files(forNode: host) where remote.hasSuffix(".crt") {
                if let pem = try? String(contentsOfFile: generator.directory.root + "/" + local, encoding: .utf8) {
                    expected[NodeLayout.pkiDirectory + "/" + remote] = pem
                }
            }
            return expected
        }

        /// Exits 1 when a host is unreachable or has a certificate expired, unreadable or
        /// expiring within 30 days.
        func runRemote() async throws {
            let loaded = try inventory.loadWhole("the PKI covers the whole inventory")
            let now = Date()
            let sessions = HostSessions(connector: try ssh.connector(for: loaded))
            let results = await RemoteCertificates.collect(hosts: loaded.hosts, sessions: sessions, now: now)
            // With the local PKI at hand, also flag certificates renewed here but not deployed, and missing ones.
            let generator = try? PKIGenerator(request: PKIRequest(inventory: loaded))
            var problems = 0
            var rows: [[String]] = []
            var objects: [JSONValue] = []
            for result in results {
                guard var certificates = result.value else {
                    problems += 1
                    let error = explain(result.error ?? CancellationError())
                    rows.append([result.host, "-", "-", "-", "UNREACHABLE: \(error)"])
                    objects.append(.object([("host", .string(result.host)), ("error", .string(error))]))
                    continue
                }
                if let generator {
                    certificates = RemoteCertificates.compare(certificates, expected: Self.expectedCertificates(generator, host: result.host))
                }
                if certificates.isEmpty { rows.append([result.host, "(none under /etc/kubernetes/pki)", "-", "-", "-"]) }
                for cert in certificates {
                    if cert.status != .ok { problems += 1 }
                    rows.append([result.host, cert.path, cert.notAfter.map(PKIDate.format) ?? "-",
                                 cert.daysLeft(now: now).map { "\($0)d" } ?? "-", cert.statusText])
                }
                objects.append(.object([("host", .string(result.host)),
                                        ("certificates", .array(certificates.map { $0.json(now: now) }))]))
            }
            if output.isJSON {
                print(JSONValue.array(objects).pretty)
            } else {
                print(TextTable.render(header: ["HOST", "CERTIFICATE", "EXPIRES", "LEFT", "STATUS"], rows: rows), terminator: "")
                print(problems == 0 ? "all installed certificates ok" : "\(problems) problem(s)")
            }
            if problems > 0 { throw ExitCode(1) }
        }
    }
}
