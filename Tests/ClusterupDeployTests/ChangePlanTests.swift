import ClusterupSSH
import Foundation
import Testing
@testable import ClusterupDeploy

@Suite struct ChangePlanTests {
    let config = ManagedFile(path: "/etc/haproxy/haproxy.cfg", text: "frontend x\n", restarts: ["haproxy.service"], component: "haproxy")
    let unit = ManagedUnit(name: "haproxy.service", component: "haproxy")

    func desired() -> HostDesiredState {
        var state = HostDesiredState(host: "node1")
        state.add(config)
        state.add(unit)
        return state
    }

    func facts(for file: ManagedFile, mode: UInt32? = nil) -> HostObservedState.FileFacts {
        .init(sha256: sha256Hex(file.content), mode: mode ?? file.mode, owner: "root", group: "root")
    }

    @Test func bareHostGetsEverything() {
        let changes = HostChanges.plan(desired: desired(), observed: .init(), hash: sha256Hex)
        #expect(changes.files.map(\.reason) == [.missing])
        #expect(changes.units == [.enable("haproxy.service"), .start("haproxy.service")])
    }

    @Test func convergedHostGetsNothing() {
        let observed = HostObservedState(
            files: [config.path: facts(for: config)],
            units: ["haproxy.service": .init(active: "active", enabled: "enabled")])
        #expect(HostChanges.plan(desired: desired(), observed: observed, hash: sha256Hex).isEmpty)
    }

    @Test func changedContentRestartsOnlyItsUnit() {
        let observed = HostObservedState(
            files: [config.path: .init(sha256: String(repeating: "0", count: 64), mode: 0o644, owner: "root", group: "root")],
            units: ["haproxy.service": .init(active: "active", enabled: "enabled")])
        let changes = HostChanges.plan(desired: desired(), observed: observed, hash: sha256Hex)
        #expect(changes.files.map(\.reason) == [.content])
        #expect(changes.units == [.restart("haproxy.service", because: [config.path])])
    }

    @Test func configurationChangeOfAReloadableUnitReloads() {
        var state = HostDesiredState(host: "node1")
        state.add(config)
        state.add(ManagedUnit(name: "haproxy.service", component: "haproxy", reload: true))
        let observed = HostObservedState(
            files: [config.path: .init(sha256: String(repeating: "0", count: 64), mode: 0o644, owner: "root", group: "root")],
            units: ["haproxy.service": .init(active: "active", enabled: "enabled")])
        #expect(HostChanges.plan(desired: state, observed: observed, hash: sha256Hex).units
                == [.reload("haproxy.service", because: [config.path])])
    }

    @Test func aChangedUnitFileRestartsEvenAReloadableUnit() {
        var state = HostDesiredState(host: "node1")
        let unitFile = ManagedFile(path: "/etc/systemd/system/haproxy.service.d/x.conf", text: "[Service]\n", restarts: ["haproxy.service"], component: "haproxy")
        state.add(unitFile)
        state.add(ManagedUnit(name: "haproxy.service", component: "haproxy", reload: true))
        let observed = HostObservedState(units: ["haproxy.service": .init(active: "active", enabled: "enabled")])
        #expect(HostChanges.plan(desired: state, observed: observed, hash: sha256Hex).units
                == [.restart("haproxy.service", because: [unitFile.path])])
    }

    @Test func modeOnlyChangeRewritesWithoutRestart() {
        let observed = HostObservedState(
            files: [config.path: facts(for: config, mode: 0o600)],
            units: ["haproxy.service": .init(active: "active", enabled: "enabled")])
        let changes = HostChanges.plan(desired: desired(), observed: observed, hash: sha256Hex)
        #expect(changes.files.map(\.reason) == [.metadata(mode: 0o600, owner: "root", group: "root")])
        #expect(changes.units.isEmpty)
    }

    @Test func unitFileChangeNeedsDaemonReload() {
        var state = desired()
        state.add(ManagedFile(path: "/etc/systemd/system/etcd.service", text: "[Unit]\n", component: "etcd"))
        #expect(HostChanges.plan(desired: state, observed: .init(), hash: sha256Hex).needsDaemonReload)
        #expect(!HostChanges.plan(desired: desired(), observed: .init(), hash: sha256Hex).needsDaemonReload)
    }

    @Test func runningDistributionUnitIsDisabled() {
        var state = HostDesiredState(host: "n")
        state.disabledUnits = ["keepalived.service"]
        let observed = HostObservedState(units: ["keepalived.service": .init(active: "active", enabled: "enabled")])
        #expect(HostChanges.plan(desired: state, observed: observed, hash: sha256Hex).units == [.disable("keepalived.service")])
    }

    @Test func sha256MatchesTheKnownVector() {
        #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite struct ObservedStateTests {
    @Test func parsesFilesMissingFilesAndUnits() throws {
        let hash = String(repeating: "a", count: 64)
        let output = "file\t/etc/a\t644:root:root\t\(hash)\nfile\t/etc/b\t-\nunit\tetcd.service\tactive\tenabled\n"
        let state = try HostObservedState.parse(output, host: "n1")
        #expect(state.files["/etc/a"] == .some(.init(sha256: hash, mode: 0o644, owner: "root", group: "root")))
        #expect(state.files["/etc/b"] == .some(nil))
        #expect(state.units["etcd.service"]?.isActive == true)
    }

    @Test func garbageNamesTheHost() {
        #expect(throws: (any Error).self) { try HostObservedState.parse("hello\n", host: "n1") }
    }

    @Test func probeScriptRunsInAShell() throws {
        // The script is real shell: run it locally on a temp file and parse what it prints.
        let dir = "/tmp/cu-probe-\(getpid())"
        mkdir(dir, 0o700)
        defer { unlink("\(dir)/x y"); rmdir(dir) }
        let fd = open("\(dir)/x y", O_CREAT | O_WRONLY, 0o640)
        _ = write(fd, "abc", 3)
        close(fd)
        let script = HostObservedState.probeScript(paths: ["\(dir)/x y", "\(dir)/missing"], units: [])
        let output = try runShell(script)
        let state = try HostObservedState.parse(output, host: "local")
        let facts = try #require(state.files["\(dir)/x y"] ?? nil)
        #expect(facts.sha256 == sha256Hex(Array("abc".utf8)))
        #expect(facts.mode == 0o640)
        #expect(state.files["\(dir)/missing"] == .some(nil))
    }
}

@Suite struct LineDiffTests {
    @Test func identicalTextsHaveNoDiff() {
        #expect(unifiedDiff(old: "a\nb\n", new: "a\nb\n", path: "/f") == "")
    }

    @Test func changedLineShowsAsRemovedAndAdded() {
        let diff = unifiedDiff(old: "a\nb\nc\n", new: "a\nB\nc\n", path: "/f", context: 1)
        #expect(diff == "--- /f (on host)\n+++ /f (deploy)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
    }

    @Test func distantChangesMakeSeparateHunks() {
        let lines = (1...20).map(String.init)
        let old = lines.joined(separator: "\n")
        let new = lines.map { $0 == "2" ? "two" : $0 == "19" ? "nineteen" : $0 }.joined(separator: "\n")
        let diff = unifiedDiff(old: old, new: new, path: "/f", context: 1)
        #expect(diff.components(separatedBy: "@@ -").count - 1 == 2)
    }
}
