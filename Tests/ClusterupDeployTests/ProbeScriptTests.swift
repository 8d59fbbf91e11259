import ClusterupCore
import ClusterupSSH
import Foundation
import Testing
@testable import ClusterupDeploy

/// The batched probes a deploy runs once per host: real shell, run locally, parsed as deploy does.
@Suite struct ArtifactCheckScriptTests {
    @Test func reportsEachArtifactUnderItsOwnName() throws {
        let dir = "/tmp/cu-artifacts-\(getpid())"
        mkdir(dir, 0o700)
        defer { unlink("\(dir)/tool"); rmdir(dir) }
        let tool = "#!/bin/sh\necho 'tool version 1.2.3'\necho second line\n"
        FileManager.default.createFile(atPath: "\(dir)/tool", contents: Data(tool.utf8), attributes: [.posixPermissions: 0o755])
        let script = ArtifactsPhase.checkScript([
            Artifact(name: "tool", source: .present, path: "\(dir)/tool", version: "1.2.3"),
            Artifact(name: "gone", source: .present, path: "\(dir)/gone"),
            Artifact(name: "pkg", source: .package("clusterup-no-such-package"), path: "/usr/bin/x"),
            Artifact(name: "uploaded", source: .file("/nowhere", sha256: nil), path: "/usr/local/bin/y"),
        ])
        let found = ArtifactsPhase.parseChecks(try runShell(script))
        #expect(found["tool"] == "tool version 1.2.3\nsecond line")
        #expect(found["gone"] == "missing")
        #expect(found["pkg"]?.contains("install ok installed") == false)
        #expect(found["uploaded"] == nil)
    }

    @Test func installedPackageShowsItsStatus() throws {
        let found = ArtifactsPhase.parseChecks(try runShell(ArtifactsPhase.checkScript([
            Artifact(name: "shell", source: .package("dash"), path: "/bin/dash"),
        ])))
        #expect(found["shell"] == "install ok installed")
    }
}

@Suite struct EtcdHostFactsTests {
    @Test func runningMemberWithListGivesMembers() throws {
        let list = #"{"members":[{"ID":1,"name":"node1","peerURLs":["https://198.51.100.2:2380"]}]}"#
        let facts = try EtcdHostFacts.parse("data\nactive\n\(list)\n", host: "node1")
        #expect(facts.hasData)
        #expect(facts.members?.map(\.name) == ["node1"])
    }

    @Test func stoppedMemberHasNoMemberList() throws {
        let facts = try EtcdHostFacts.parse("empty\ninactive\n", host: "node1")
        #expect(!facts.hasData)
        #expect(facts.members == nil)
    }

    @Test func probeOnAHostWithoutEtcdSaysEmptyAndNotActive() throws {
        let script = EtcdHostFacts.probeScript(dataDirectory: "/tmp/cu-no-etcd-\(getpid())", etcdctl: "/bin/false")
        let facts = try EtcdHostFacts.parse(try runShell(script), host: "local")
        #expect(!facts.hasData)
        #expect(facts.members == nil)
    }
}

@Suite struct StateProbeUnitTests {
    @Test func everyUnitGetsItsOwnLineInOrder() throws {
        // Without systemd (as here) the states are empty, but each unit is still reported once.
        let script = HostObservedState.probeScript(paths: [], units: ["a.service", "b.service", "c.service"])
        let lines = try runShell(script).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).first.map(String.init) ?? "" }
        #expect(lines == ["unit", "unit", "unit"])
        let state = try HostObservedState.parse(try runShell(script), host: "local")
        #expect(Set(state.units.keys) == ["a.service", "b.service", "c.service"])
    }
}

/// Enabling units on a node: what a real shell does with the script, in a scratch root, with a
/// `systemctl` that only records how it was called.
@Suite struct EnableUnitsScriptTests {
    let root = "/tmp/cu-enable-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (root + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root + path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]))
    }

    /// Runs the script with the recording systemctl first on PATH; returns what it recorded.
    func run(_ units: [String]) throws -> String {
        try write("/bin/systemctl", "#!/bin/sh\necho \"$*\" >> \(root)/systemctl.log\n", mode: 0o755)
        _ = try runShell("PATH=\(root)/bin:$PATH\n" + enableUnitsScript(units, root: root))
        return (try? String(contentsOfFile: root + "/systemctl.log", encoding: .utf8)) ?? ""
    }

    @Test func unitsWithoutASysVScriptAreEnabledByOneSystemctlCallThatDoesNotReload() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = try run(["kube-apiserver.service", "kube-scheduler.service"])
        #expect(log == "enable --no-reload -q kube-apiserver.service kube-scheduler.service\n")
    }

    @Test func aUnitWithASysVScriptIsLinkedIntoItsWantedByTargetsWithoutSystemctl() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write("/etc/init.d/etcd", "#!/bin/sh\n", mode: 0o755)
        try write("/etc/init.d/haproxy", "#!/bin/sh\n", mode: 0o755)
        try write("/lib/systemd/system/etcd.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
        // Ours in /etc wins over the package's; a unit may name several targets.
        try write("/etc/systemd/system/etcd.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target graphical.target\n")
        try write("/lib/systemd/system/haproxy.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
        let log = try run(["etcd.service", "haproxy.service", "clusterup-vrrpd.service"])
        #expect(log == "enable --no-reload -q clusterup-vrrpd.service\n")
        let fm = FileManager.default
        let wants = root + "/etc/systemd/system/multi-user.target.wants"
        #expect(try fm.destinationOfSymbolicLink(atPath: wants + "/etcd.service") == root + "/etc/systemd/system/etcd.service")
        #expect(try fm.destinationOfSymbolicLink(atPath: root + "/etc/systemd/system/graphical.target.wants/etcd.service")
            == root + "/etc/systemd/system/etcd.service")
        #expect(try fm.destinationOfSymbolicLink(atPath: wants + "/haproxy.service") == root + "/lib/systemd/system/haproxy.service")
    }

    @Test func aSysVUnitWithoutAUnitFileFailsNamingIt() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write("/etc/init.d/etcd", "#!/bin/sh\n", mode: 0o755)
        #expect(throws: (any Error).self) { try run(["etcd.service"]) }
    }
}

/// The plan's single probe per host: etcd's section first (etcd hosts only), then the files and units.
@Suite struct HostProbeTests {
    @Test func anEtcdHostReportsItsMemberAndItsFilesInOneRun() throws {
        let file = "/tmp/cu-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x\n".utf8)))
        let script = HostProbe.script(
            etcd: EtcdHostFacts.probeScript(dataDirectory: "/tmp/cu-no-etcd-\(getpid())", etcdctl: "/bin/false"),
            observed: HostObservedState.probeScript(paths: [file, file + ".absent"], units: []))
        let (etcd, observed) = try HostProbe.parse(try runShell(script), host: "node1")
        let facts = try #require(etcd)
        #expect(!facts.hasData)
        #expect(!facts.active)
        #expect(observed.files[file]??.sha256 == sha256Hex(Array("x\n".utf8)))
        #expect(observed.files[file + ".absent"] == .some(nil))
    }

    @Test func aNodeWithoutOpensslHashesWithSha256sumToTheSameDigests() throws {
        let dir = "/tmp/cu-noopenssl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        for tool in ["stat", "sha256sum", "awk"] {
            let path = try #require(["/usr/bin/", "/bin/"].map { $0 + tool }.first { FileManager.default.isExecutableFile(atPath: $0) })
            try FileManager.default.createSymbolicLink(atPath: "\(dir)/bin/\(tool)", withDestinationPath: path)
        }
        #expect(FileManager.default.createFile(atPath: dir + "/a file", contents: Data("content\n".utf8)))
        let probe = HostObservedState.probeScript(paths: [dir + "/a file"], units: [])
        let withOpenssl = try HostObservedState.parse(try runShell(probe), host: "h")
        let without = try HostObservedState.parse(try runShell("PATH=\(dir)/bin\n" + probe), host: "h")
        #expect(without == withOpenssl)
        #expect(without.files[dir + "/a file"]??.sha256 == sha256Hex(Array("content\n".utf8)))
    }

    @Test func aHostWithoutEtcdHasNoEtcdSection() throws {
        let (etcd, observed) = try HostProbe.parse(try runShell(HostProbe.script(etcd: nil, observed: "")), host: "node4")
        #expect(etcd == nil)
        #expect(observed == HostObservedState())
    }

    @Test func outputWithoutTheSeparatorIsAnErrorNamingTheHost() {
        #expect(throws: ClusterupError.self) { try HostProbe.parse("data\nactive\n", host: "node2") }
    }

    @Test func onlyTheMemberAskedListsTheMembers() {
        #expect(EtcdHostFacts.probeScript(dataDirectory: "/d", etcdctl: "etcdctl", listMembers: true).contains("member list"))
        #expect(!EtcdHostFacts.probeScript(dataDirectory: "/d", etcdctl: "etcdctl", listMembers: false).contains("member list"))
    }
}
