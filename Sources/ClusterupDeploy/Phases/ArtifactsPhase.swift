import ClusterupSSH
import ClusterupCore
import Foundation

/// Makes every program the hosts' roles need available: installs missing packages with the
/// node's package manager, fetches URL artifacts once into this machine's cache (checked against
/// their sha256) and reads local files for upload, and checks programs said to be present.
struct ArtifactsPhase: DeployPhase {
    let title = "artifacts"
    /// Packages are installed host by host. (What fails before, fetching and reading on this
    /// machine, leaves the nodes unchanged and says so.)
    let afterFailure = AfterFailure.nodesPartWay

    /// The artifacts a host needs, by its roles and the VRRP backend.
    static func needed(by host: InventoryHost, _ inventory: Inventory) -> [String] {
        var names: [String] = []
        if host.roles.contains(.etcd) { names += ["etcd", "etcdctl"] }
        if host.roles.contains(.controlPlane) { names += Artifact.kubernetesComponents }
        if host.roles.contains(.lb) {
            names += ["haproxy", "socat"]
            names.append(inventory.vrrp?.backend == .keepalived ? "keepalived" : "clusterup-vrrpd")
            if inventory.vrrp?.firewall == true { names.append("nft") }
        }
        return names
    }

    func run(_ session: DeploySession) async throws {
        let inventory = session.inventory
        let settings = session.settings
        let allNeeded = Set(inventory.hosts.flatMap { Self.needed(by: $0, inventory) }).sorted()
        let unknown = allNeeded.filter { settings.artifact($0) == nil }
        if !unknown.isEmpty {
            throw DeployFailure(
                phase: title,
                failures: unknown.map { ("inventory", "no artifact for \($0): add `artifacts: {\($0): {url: …, sha256: …}}`, `{file: …}` or `{present: …}`") },
                state: AfterFailure.nodesUnchanged.state)
        }
        // Downloads and file reads block: they run on FanOut's threads, not the cooperative pool.
        let cache = ArtifactCache(directory: session.options.cacheDirectory)
        let fetched = await FanOut(concurrency: 4).run(allNeeded, name: { $0 }, initialStep: "fetching") { name, _ -> [UInt8]? in
            try Self.bytes(of: settings.artifact(name)!, cache: cache)
        }
        var uploads: [String: [UInt8]] = [:]
        var failures: [(host: String, error: String)] = []
        for result in fetched {
            switch result.outcome {
            case .success(let bytes): uploads[result.host] = bytes
            case .failure(let error as ClusterupError):
                // Where in the inventory (file:line:column) and what to do: the row names only the artifact.
                failures.append(("artifact \(result.host)", [error.location, error.message].compactMap { $0 }.joined(separator: ": ")
                                    + (error.hint.map { " (\($0))" } ?? "")))
            case .failure(let error): failures.append(("artifact \(result.host)", describe(error)))
            }
        }
        if !failures.isEmpty {
            // Nothing was uploaded: a wrong digest or member is the inventory's to fix (exit 2).
            let allBadInput = fetched.compactMap(\.error).allSatisfy { ($0 as? ClusterupError)?.kind == .badInput }
            throw DeployFailure(phase: title, failures: failures, state: AfterFailure.nodesUnchanged.state, exitCode: allBadInput ? 2 : 1)
        }
        session.with { $0.uploads = uploads }

        let mode = session.mode
        try await session.onHosts(inventory.hosts, phase: self, step: "checking") { host, connection, reporter in
            let artifacts = Self.needed(by: host, inventory).compactMap { settings.artifact($0) }
            // Every check of the host in one round trip; installs (rare) each get their own.
            var found = Self.parseChecks(try connection.checkedOutput(Self.checkScript(artifacts)))
            var installedSinceCheck = false
            for artifact in artifacts {
                let name = artifact.name
                switch artifact.source {
                case .package(let package):
                    let output = found[name] ?? ""
                    if output.contains("install ok installed") || output.hasPrefix(package) { continue }
                    session.note(host.name, try mode.perform(.install, "package \(package) (for \(name))", progress: reporter.step) {
                        _ = try connection.checkedOutput(Self.installScript(package), timeout: 900)
                        installedSinceCheck = true
                    })
                case .present:
                    let version = artifact.version
                    if installedSinceCheck {
                        // A package just installed may have brought the program: look again.
                        let present = artifacts.filter { if case .present = $0.source { true } else { false } }
                        found.merge(Self.parseChecks(try connection.checkedOutput(Self.checkScript(present)))) { $1 }
                        installedSinceCheck = false
                    }
                    let output = found[name] ?? ""
                    if output.hasPrefix("missing") {
                        throw ClusterupError.remote(
                            "\(name) should be present at \(artifact.path) but is not", host: host.name,
                            hint: "install it there, or give `artifacts.\(name)` a url or file source")
                    }
                    if let version, !output.contains(version) {
                        throw ClusterupError.remote(
                            "\(artifact.path) reports '\(output.trimmingCharacters(in: .whitespacesAndNewlines))', not version \(version)",
                            host: host.name, hint: "install \(name) \(version) there, or fix artifacts.\(name).version")
                    }
                case .url, .file:
                    break  // uploaded with the rest of the host's files
                }
            }
        }
    }

    /// What is uploaded for `artifact`: a download (a release tarball's member), a local file, or
    /// nil for packages and present programs. Every digest is checked before anything is opened or
    /// uploaded. Blocking.
    static func bytes(of artifact: Artifact, cache: ArtifactCache) throws -> [UInt8]? {
        switch artifact.source {
        case .url(let url, let sha256, nil): try cache.fetch(url, sha256: sha256, artifact: artifact)
        case .url(let url, let sha256, let member?):
            try ReleaseArchive.extract(member, from: try cache.fetch(url, sha256: sha256, artifact: artifact), artifact: artifact)
        case .file(let path, let sha256): try readLocal(path, sha256: sha256, name: artifact.name)
        case .package, .present: nil
        }
    }

    static let checkMarker = "@@clusterup-artifact "

    /// One script that checks every package and present artifact: for each, a marker line with its
    /// name, then what `dpkg-query`/`rpm -q` or `PROGRAM --version` printed (or "missing").
    static func checkScript(_ artifacts: [Artifact]) -> String {
        var script = ""
        for artifact in artifacts {
            let marker = "echo \(shellQuote(checkMarker + artifact.name))\n"
            switch artifact.source {
            case .package(let package):
                let p = shellQuote(package)
                script += marker + "dpkg-query -W -f='${Status}' \(p) 2>/dev/null || rpm -q \(p) 2>/dev/null || true\necho\n"
            case .present:
                let path = shellQuote(artifact.path)
                script += marker + "if test -x \(path); then \(path) --version 2>&1 | head -3; else echo missing; fi\n"
            case .url, .file:
                continue
            }
        }
        return script + "true\n"
    }

    /// Artifact name → what its check printed.
    static func parseChecks(_ output: String) -> [String: String] {
        var found: [String: String] = [:]
        var current: String?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(checkMarker) {
                current = String(line.dropFirst(checkMarker.count))
                found[current!] = ""
            } else if let name = current {
                found[name]! += found[name]!.isEmpty ? String(line) : "\n" + line
            }
        }
        return found.mapValues { $0.trimmingCharacters(in: .newlines) }
    }

    /// Installs without letting the package's own service start with its default configuration
    /// (Debian starts etcd and haproxy on install): deploy starts them configured. The node's own
    /// policy-rc.d, if it has one, is put aside and back (one left aside by a run that died is
    /// kept, not overwritten by ours).
    static func installScript(_ package: String, policy: String = "/usr/sbin/policy-rc.d") -> String {
        let p = shellQuote(package)
        let policyPath = shellQuote(policy)
        let saved = shellQuote((policy as NSString).deletingLastPathComponent + "/.policy-rc.d.clusterup-saved")
        return """
        if command -v apt-get >/dev/null 2>&1; then
          if [ ! -e \(saved) ] && { [ -e \(policyPath) ] || [ -L \(policyPath) ]; }; then mv -f \(policyPath) \(saved) || exit 1; fi
          trap 'rm -f \(policyPath); if [ -e \(saved) ] || [ -L \(saved) ]; then mv -f \(saved) \(policyPath); fi' EXIT
          printf '#!/bin/sh\\nexit 101\\n' > \(policyPath) && chmod 755 \(policyPath)
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \(p) || {
            DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \(p); }
        elif command -v dnf >/dev/null 2>&1; then
          dnf install -y \(p)
        else
          echo "no apt-get or dnf on this host" >&2; exit 1
        fi
        """
    }

    static func readLocal(_ path: String, sha256: String?, name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterupError.badInput(
                "cannot read \(path) (artifact \(name))", at: "artifacts.\(name).file",
                hint: "check the path; relative paths are relative to the inventory file")
        }
        let bytes = [UInt8](data)
        if let sha256, sha256Hex(bytes) != sha256.lowercased() {
            throw ClusterupError.badInput(
                "\(path) has sha256 \(sha256Hex(bytes)), the inventory expects \(sha256)", at: "artifacts.\(name).sha256",
                hint: "the file changed or the checksum is wrong: check where the file came from")
        }
        return bytes
    }
}

/// Downloads once into `<cache>/<sha256>` and reuses it; a download whose checksum differs is
/// discarded and reported.
struct ArtifactCache {
    var directory: String

    func fetch(_ url: String, sha256: String, artifact: Artifact) throws -> [UInt8] {
        let name = artifact.name
        let expected = sha256.lowercased()
        let path = "\(directory)/\(expected)"
        if let data = FileManager.default.contents(atPath: path), sha256Hex([UInt8](data)) == expected {
            return [UInt8](data)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Each fetch its own partial file: two artifacts from one tarball (etcd and etcdctl) are
        // fetched at once, and so may two clusterup runs.
        let partial = "\(path).\(UUID().uuidString).part"
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-fsSL", "--retry", "3", "-o", partial, url]
        let stderr = Pipe()
        curl.standardError = stderr
        do { try curl.run() } catch {
            throw ClusterupError.local("cannot run curl to fetch \(name): \(error)", hint: "install curl, or use a file source")
        }
        curl.waitUntilExit()
        guard curl.terminationStatus == 0, let data = FileManager.default.contents(atPath: partial) else {
            let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try? FileManager.default.removeItem(atPath: partial)
            throw ClusterupError.local("artifacts.\(name).url: downloading \(url) failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))",
                                       at: artifact.locations["url"], hint: "check the URL and this machine's network, or use a file source")
        }
        let actual = sha256Hex([UInt8](data))
        guard actual == expected else {
            try? FileManager.default.removeItem(atPath: partial)
            throw artifact.error("sha256", "\(url) has sha256 \(actual), the inventory expects \(expected)",
                                 hint: "fix the checksum or the URL; nothing was uploaded or run")
        }
        // rename(2) replaces a copy another fetch put there meanwhile (the same bytes: the name is their digest).
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            throw ClusterupError.local("cannot keep \(url) in the cache \(directory): \(reason)", hint: "check that directory's permissions")
        }
        return [UInt8](data)
    }
}
