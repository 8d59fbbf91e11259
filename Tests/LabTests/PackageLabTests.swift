import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

/// The .deb and the tarball installed on clean Debian 12 and 13 roots (debootstrap minbase: no
/// Swift toolchain, no source tree), used as an operator would, including against a lab node.
/// Root only: debootstrap, chroot, overlay mounts and a lab.
@Suite(.serialized, .requiresRoot("debootstrap, chroot into clean Debian roots and a lab node"))
struct PackageLabTests {
    @Test func theDebAndTheTarballRunOnCleanDebian12And13WithoutAToolchain() async throws {
        try await PackageFiles.shared.ensureBuilt()
        let lab = "pkgtest"
        let state = try await Lab.up(name: lab, nodes: 1, waitForAddressBlock: LabFixture.addressBlockWait)
        do {
            for release in ["bookworm", "trixie"] {
                let root = try await DebianRoot.make(release)
                do {
                    try await checkDeb(in: root, lab: state)
                    // The tarball needs only the runtime libraries, which the .deb brought: remove it first.
                    if release == "bookworm" { try await checkTarball(in: root, lab: state) }
                } catch {
                    await root.remove()
                    throw error
                }
                await root.remove()
            }
        } catch {
            _ = try? await Lab.down(name: lab)
            throw error
        }
        let report = try await Lab.down(name: lab)
        #expect(report.remaining.isEmpty)
    }

    func checkDeb(in root: DebianRoot, lab: LabState) async throws {
        let release = root.release
        // Nothing to build with and nothing to read from: the point of the package.
        #expect(try await root.run("command -v swift || command -v swiftc || command -v cc").status != 0, "\(release) has a toolchain")
        #expect(!FileManager.default.fileExists(atPath: root.root + PackageFiles.repo), "\(release) sees the source tree")

        let deb = try PackageFiles.deb
        try root.copy(deb, to: "/tmp/" + (deb as NSString).lastPathComponent)
        // The cached root's package lists may be older than the mirror's packages: refresh them first.
        let install = try await root.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/\((deb as NSString).lastPathComponent)", limit: 600)
        #expect(install.status == 0, "\(release): \(install.stdout)\(install.stderr)")
        // apt pulls the runtime libraries and nothing else.
        let pulled = newPackages(install.stdout)
        #expect(pulled.contains("clusterup"), "\(release): \(install.stdout)")
        #expect(pulled.filter { $0 != "clusterup" && !$0.hasPrefix("lib") && !$0.hasPrefix("zlib") }.isEmpty, "\(release) pulled \(pulled)")
        #expect(pulled.contains { $0.hasPrefix("libssh2-1") }, "\(release) pulled \(pulled)")

        try await checkCommands(in: root, clusterup: "clusterup", lab: lab)
        try await checkDeployFindsDaemon(in: root, clusterup: "clusterup", lab: lab, at: "/usr/lib/clusterup/clusterup-vrrpd")

        let daemon = try await root.run("test -x /usr/lib/clusterup/clusterup-vrrpd && ldd /usr/lib/clusterup/clusterup-vrrpd; true")
        #expect(!daemon.stdout.contains("libswift") && !daemon.stdout.isEmpty, "\(release): clusterup-vrrpd: \(daemon.stdout)\(daemon.stderr)")
        let extras = try await root.run("""
            test -s /usr/share/bash-completion/completions/clusterup && test -s /usr/share/zsh/vendor-completions/_clusterup \
            && test -s /usr/share/fish/vendor_completions.d/clusterup.fish && test -s /usr/share/doc/clusterup/README.md \
            && ls /usr/share/man/man1
            """)
        #expect(extras.status == 0, "\(release): \(extras.stderr)")
        for page in ["clusterup.1.gz", "clusterup.deploy.1.gz", "clusterup.certs.gen.1.gz", "clusterup.lab.up.1.gz"] {
            #expect(extras.stdout.split(separator: "\n").contains(Substring(page)), "\(release): no man page \(page)")
        }
    }

    func checkTarball(in root: DebianRoot, lab: LabState) async throws {
        let removed = try await root.run("DEBIAN_FRONTEND=noninteractive apt-get remove -y clusterup && ! test -e /usr/bin/clusterup")
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        let tarball = try PackageFiles.tarball
        try root.copy(tarball, to: "/tmp/clusterup.tar.gz")
        // Unpacked anywhere: a directory no lookup knows of.
        let unpacked = try await root.run("mkdir -p /srv/anywhere && tar -C /srv/anywhere -xzf /tmp/clusterup.tar.gz")
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        let directory = "/srv/anywhere/\(try PackageFiles.tarballDirectory)"
        try await checkCommands(in: root, clusterup: directory + "/clusterup", lab: lab)
        try await checkDeployFindsDaemon(in: root, clusterup: directory + "/clusterup", lab: lab, at: directory + "/clusterup-vrrpd")
        // Linked onto PATH and run by name from another directory, it still finds the daemon beside its real file.
        let linked = try await root.run("ln -sf \(directory)/clusterup /usr/local/bin/clusterup")
        #expect(linked.status == 0, "\(linked.stderr)")
        try await checkDeployFindsDaemon(in: root, clusterup: "clusterup", lab: lab, at: directory + "/clusterup-vrrpd")
    }

    /// deploy finds clusterup-vrrpd without a flag, names it, and plans with it (dry run: nothing changes).
    func checkDeployFindsDaemon(in root: DebianRoot, clusterup: String, lab: LabState, at daemon: String) async throws {
        let dry = try await root.run("cd /tmp && \(clusterup) deploy \(try Lab.inventoryPath(name: lab.name)) --dry-run")
        #expect(dry.status == 0, "\(root.release): \(dry.stdout)\(dry.stderr)")
        #expect((dry.stdout + dry.stderr).contains("clusterup-vrrpd: \(daemon) (sha256 "), "\(root.release): \(dry.stdout)\(dry.stderr)")
    }

    /// What an operator does first, from a fresh directory, then against the lab node over SSH.
    func checkCommands(in root: DebianRoot, clusterup: String, lab: LabState) async throws {
        let release = root.release
        let version = try await root.run("\(clusterup) --version")
        #expect(version.status == 0, "\(release): \(version.stderr)")
        #expect(version.stdout.hasPrefix("clusterup \(try PackageFiles.version) (commit \(try PackageFiles.headCommit())"),
                "\(release): \(version.stdout)")
        #expect(version.stdout.contains(", built 20"), "\(release): \(version.stdout)")

        let site = "/root/site-\(UUID().uuidString.prefix(8))"
        for command in ["init", "inventory check", "certs gen"] {
            let run = try await root.run("mkdir -p \(site) && cd \(site) && \(clusterup) \(command)")
            #expect(run.status == 0, "\(release): clusterup \(command): \(run.stdout)\(run.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: root.root + site + "/inventory.yml"))

        let ldd = try await root.run("ldd $(command -v \(clusterup))")
        #expect(ldd.status == 0, "\(release): \(ldd.stderr)")
        #expect(!ldd.stdout.contains("libswift") && !ldd.stdout.contains("libFoundation") && !ldd.stdout.contains("not found"),
                "\(release): \(ldd.stdout)")

        // The lab's inventory, key and known_hosts at the same paths inside the root.
        let paths = LabPaths(name: try LabName(lab.name))
        for file in [paths.inventory, paths.privateKey, paths.knownHosts] { try root.copy(file, to: file) }
        for standin in try FileManager.default.contentsOfDirectory(atPath: paths.standins) {
            try root.copy(paths.standins + "/" + standin, to: paths.standins + "/" + standin)
        }
        let exec = try await root.run("\(clusterup) exec \(paths.inventory) -- hostname")
        #expect(exec.status == 0 && exec.stdout.contains("node1"), "\(release): exec: \(exec.stdout)\(exec.stderr)")
        let check = try await root.run("\(clusterup) check \(paths.inventory)")
        #expect(check.status == 0, "\(release): check: \(check.stdout)\(check.stderr)")
    }

    /// The names under apt's "The following NEW packages will be installed:".
    func newPackages(_ output: String) -> [String] {
        var names: [String] = []
        var inList = false
        for line in output.split(separator: "\n") {
            if line.hasPrefix("The following NEW packages will be installed") { inList = true; continue }
            guard inList else { continue }
            guard line.hasPrefix(" ") else { break }
            names += line.split(separator: " ").map(String.init)
        }
        return names
    }
}
