import ClusterupCore
import ClusterupPKI
import Foundation

/// `certs gen` on this machine (idempotent: existing CAs and valid leaves are kept), then reads
/// the files each host receives. A dry run generates into a scratch copy and leaves the real
/// PKI directory untouched.
struct PKIPhase: DeployPhase {
    let title = "pki"
    /// Works on this machine (a dry run in a scratch copy of the PKI directory).
    let afterFailure = AfterFailure.nodesUnchanged

    func run(_ session: DeploySession) async throws {
        let inventory = session.inventory
        let mode = session.mode
        // Key generation and file I/O: on a dedicated thread, not the cooperative pool.
        let results = await FanOut(concurrency: 1).run(["pki"], name: { $0 }, initialStep: "certs gen") { _, _ in
            try PKIPhase.generate(inventory, dryRun: mode.isDry)
        }
        let (plan, report, files) = try results[0].outcome.get()
        for created in report.createdAuthorities { session.note(nil, mode.made(.create, "CA \(created)")) }
        if report.issued.count > 6 {
            // A first run issues every leaf: say so in one line, grouped by reason.
            var byReason: [String: Int] = [:]
            for issued in report.issued { byReason[issued.reasons.map { "\($0)" }.joined(separator: ", "), default: 0] += 1 }
            let reasons = byReason.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: "; ")
            session.note(nil, mode.made(.issue, "\(report.issued.count) certificates and kubeconfigs (\(reasons))"))
        } else {
            for issued in report.issued {
                session.note(nil, mode.made(.issue, "\(issued.name): \(issued.reasons.map { "\($0)" }.joined(separator: ", "))"))
            }
        }
        session.with { state in
            state.pkiReport = report
            state.pkiPlan = plan
            state.pkiFiles = files
        }
    }

    static func generate(_ inventory: Inventory, dryRun: Bool) throws -> (PKIPlan, PKIRunReport, [String: [UInt8]]) {
        var request = try PKIRequest(inventory: inventory)
        var scratch: String?
        if dryRun {
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("clusterup-dry-run-pki-\(getpid())").path
            try? FileManager.default.removeItem(atPath: copy)
            if FileManager.default.fileExists(atPath: request.settings.directory) {
                try FileManager.default.copyItem(atPath: request.settings.directory, toPath: copy)
            }
            request.settings.directory = copy
            scratch = copy
        }
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let generator = try PKIGenerator(request: request)
        let report = try generator.run(now: Date())
        var files: [String: [UInt8]] = [:]
        var wanted = Set(generator.plan.kubeconfigs.map(\.path))
        for host in inventory.hosts { wanted.formUnion(generator.plan.files(forNode: host.name).map(\.local)) }
        for path in wanted {
            guard case .contents(let data) = try generator.directory.read(path) else {
                throw ClusterupError.local("certs gen did not produce \(path)", at: request.settings.directory)
            }
            files[path] = [UInt8](data)
        }
        return (generator.plan, report, files)
    }
}
