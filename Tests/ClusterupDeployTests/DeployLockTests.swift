import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// The deploy lock: who holds it, when it may be taken over (a pure decision), and the scripts
/// that take, refresh and release it, run under /bin/sh on a scratch lock directory.
@Suite struct DeployLockTests {
    typealias Owner = DeployLock.Owner

    static let here = "3d1219c7c4c5404aaa1f6d2a48adfda4"
    static let boot = "d4b98fc0-a859-4d66-b226-6af01b44b2e0"

    func owner(machine: String = here, boot: String = boot, pid: Int32 = 4242, start: UInt64 = 777, token: String = "t0ken") -> Owner {
        Owner(user: "ops", host: "admin", machineID: machine, bootID: boot, pid: pid, processStart: start,
              token: token, since: "2026-12-05T09:00:00Z")
    }

    /// A process table with `processes` (pid → start time) running on machine `here`.
    func table(_ processes: [Int32: UInt64], machine: String? = here, boot: String? = boot) -> DeployLock.LocalProcessTable {
        DeployLock.LocalProcessTable(machineID: machine, bootID: boot, startTime: { processes[$0] })
    }

    func observed(_ owner: Owner?, age: Int) -> DeployLock.Observation {
        DeployLock.Observation(age: age, modified: "1764925200", rawOwner: owner?.record ?? "")
    }

    func isTakeOver(_ decision: DeployLock.Decision) -> Bool {
        if case .takeOver = decision { return true }
        return false
    }

    @Test func theOwnerRecordReadsBackAndNeverCarriesALineBreak() throws {
        let original = owner()
        #expect(Owner(record: original.record) == original)
        var odd = original
        odd.user = "ops\ntoken=forged"
        let read = try #require(Owner(record: odd.record))
        #expect(read.token == "t0ken", "a line break in a value cannot add a field")
        #expect(read.user == "ops?token=forged")
        #expect(!original.description.contains("t0ken"), "the token is never shown")
    }

    @Test func anOperationHoldingTheLockIsNamedAndReadBack() throws {
        var rotation = owner()
        rotation.operation = "certs rotate-ca"
        let read = try #require(Owner(record: rotation.record))
        #expect(read.operation == "certs rotate-ca")
        #expect(read.description == "ops@admin pid 4242 since 2026-12-05T09:00:00Z, running certs rotate-ca")
        // A deploy's record names no operation, and reads as before.
        #expect(Owner(record: owner().record)?.operation == nil)
        #expect(!owner().record.contains("operation="))
    }

    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    @Test func everyHostLockedIsNoRefusalAndTakeOversAreNoted() {
        let acquisition = DeployLock.Acquisition([
            ("node1", .success(.acquired(tookOver: nil))),
            ("node2", .success(.acquired(tookOver: "ops@admin pid 7 since T (process 7 on this machine is gone)"))),
        ])
        #expect(acquisition.refusals.isEmpty)
        #expect(acquisition.locked == ["node1", "node2"])
        #expect(acquisition.tookOver == [.init(host: "node2", text: "ops@admin pid 7 since T (process 7 on this machine is gone)")])
    }

    @Test func aHeldOrUnreachableHostRefusesWithDeploysWordsAndKeepsTheOthersToRelease() {
        let acquisition = DeployLock.Acquisition([
            ("node1", .success(.acquired(tookOver: nil))),
            ("node2", .success(.held(by: "ops@admin pid 9 since T, running certs rotate-ca, refreshed 2s ago"))),
            ("node3", .failure(Unreachable())),
        ])
        #expect(acquisition.locked == ["node1"], "what was taken is released by the caller")
        #expect(acquisition.refusals == [
            .init(host: "node2", text: "another deploy holds the lock: ops@admin pid 9 since T, running certs rotate-ca, refreshed 2s ago"),
            .init(host: "node3", text: "connection refused"),
        ])
    }

    @Test func aRefusalOfAnOperationUnderTheLockReadsLikeDeploys() {
        let failure = DeployFailure(phase: "lock", failures: [("node2", "another deploy holds the lock: x")], state: "Nothing was changed.",
                                    operation: "certs rotate-ca")
        #expect(failure.description == "certs rotate-ca failed in phase 'lock':\n  node2: another deploy holds the lock: x\n  Nothing was changed.")
        #expect(DeployFailure(phase: "lock", failures: [], state: "s").description.hasPrefix("deploy failed in phase 'lock':"))
    }

    @Test func anOlderVersionsOwnerLineIsReadAsAnUnknownOwner() {
        let old = DeployLock.Observation(age: 5, modified: "1", rawOwner: "ops@admin pid 42 since 2026-11-22T06:00:00Z\n")
        #expect(old.owner == nil)
        #expect(old.description == "ops@admin pid 42 since 2026-11-22T06:00:00Z, refreshed 5s ago")
    }

    @Test func aLocalHolderThatStillRunsKeepsTheLockHoweverOld() {
        let decision = DeployLock.decide(observed(owner(), age: 100_000), staleAfter: 180, local: table([4242: 777]))
        #expect(!isTakeOver(decision), "\(decision)")
    }

    @Test func aLocalHolderThatIsGoneLosesTheLockAtOnce() {
        let fresh = observed(owner(), age: 2)
        #expect(DeployLock.decide(fresh, staleAfter: 180, local: table([:])) == .takeOver(reason: "process 4242 on this machine is gone"))
        #expect(DeployLock.decide(fresh, staleAfter: 180, local: table([4242: 778]))
                == .takeOver(reason: "pid 4242 on this machine is now another process"))
        #expect(DeployLock.decide(fresh, staleAfter: 180, local: table([4242: 777], boot: "another-boot"))
                == .takeOver(reason: "this machine rebooted since it was taken"))
    }

    @Test func aLockFromAnotherMachineIsTakenOverOnlyWhenStale() {
        // Same host name, another machine: the pid says nothing about this machine's processes.
        let theirs = owner(machine: "0123456789abcdef0123456789abcdef")
        #expect(!isTakeOver(DeployLock.decide(observed(theirs, age: 179), staleAfter: 180, local: table([:]))))
        #expect(isTakeOver(DeployLock.decide(observed(theirs, age: 180), staleAfter: 180, local: table([:]))))
        // Without a machine id of our own, every lock counts as another machine's.
        #expect(!isTakeOver(DeployLock.decide(observed(owner(), age: 10), staleAfter: 180, local: table([:], machine: nil))))
    }

    @Test func aLockWhoseOwnerCannotBeReadIsTakenOverOnlyWhenStale() {
        // Just made by another deploy that has not written its owner yet, or an older version's line.
        #expect(!isTakeOver(DeployLock.decide(observed(nil, age: 0), staleAfter: 180, local: table([:]))))
        #expect(isTakeOver(DeployLock.decide(observed(nil, age: 4000), staleAfter: 180, local: table([:]))))
    }

    @Test func refreshesComeThreeTimesPerStaleAgeAndAtLeastEveryMinute() {
        #expect(DeployLock.refreshInterval(staleAfter: .seconds(180)) == .seconds(60))
        #expect(DeployLock.refreshInterval(staleAfter: .seconds(30)) == .seconds(10))
        #expect(DeployLock.refreshInterval(staleAfter: .seconds(3600)) == .seconds(60))
        #expect(DeployLock.refreshInterval(staleAfter: .zero) == .seconds(1), "never a busy loop")
    }

    /// Polls `condition` until it holds or 10 s pass.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func theKeeperRefreshesEveryHostUntilStoppedAndNotesALockTakenFromIt() async throws {
        let hosts = ["kept", "taken", "unreachable"].map { InventoryHost(name: $0, address: "192.0.2.1", roles: [.lb]) }
        let calls = Locked<[String: Int]>([:])
        struct Unreachable: Error {}
        let keeper = LockKeeper(hosts: hosts, token: "t", interval: .milliseconds(20), refresh: { host in
            calls.withLock { $0[host.name, default: 0] += 1 }
            switch host.name {
            case "kept": return .refreshed
            case "taken": return .lost
            default: throw Unreachable()
            }
        })
        keeper.start()
        // A host that fails to answer is tried again next round: the loop goes on.
        #expect(await eventually { calls.withLock { $0.values.count == 3 && $0.values.allSatisfy { $0 >= 3 } } },
                "\(calls.withLock { $0 })")
        #expect(keeper.lostHosts == ["taken"])
        await keeper.stop()
        let atStop = calls.withLock { $0 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(calls.withLock { $0 } == atStop, "no refresh after stop")
    }

    @Test func thisProcessIsFoundInTheRealProcessTableAndAFinishedOneIsNot() throws {
        let local = DeployLock.LocalProcessTable.current()
        let me = try #require(local.startTime(getpid()))
        #expect(me > 0)
        let child = try SpawnedProcess("/bin/true", [])
        child.waitUntilExit()
        #expect(local.startTime(child.processIdentifier) == nil || child.processIdentifier == getpid())
        let mine = Owner.current(local: local)
        #expect(DeployLock.decide(observed(mine, age: 0), staleAfter: 180, local: local)
                == .held(reason: "process \(getpid()) on this machine still runs"))
    }

    @Test func processStartIsField22EvenWhenTheCommandNameHoldsSpacesAndParentheses() {
        let fields = (3...30).map(String.init).joined(separator: " ")
        #expect(DeployLock.LocalProcessTable.processStart(stat: "123 (a b) c) \(fields)") == 22)
        #expect(DeployLock.LocalProcessTable.processStart(stat: "garbage") == nil)
    }

    // MARK: the scripts on a scratch lock

    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cu-lock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func run(_ script: String, in dir: String) throws -> DeployLock.Report? {
        DeployLock.parse(try runShell("cd \(shellQuote(dir)) && " + script))
    }

    @Test func aSecondAcquireIsToldWhoHoldsTheLockAndATakeOverNeedsTheSameLock() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lock = dir + "/state/deploy.lock"
        let first = owner(token: "first")
        #expect(try run(DeployLock.acquireScript(first, lock: lock), in: dir) == .acquired)
        guard case .held(let seen)? = try run(DeployLock.acquireScript(owner(token: "second"), lock: lock), in: dir) else {
            Issue.record("a held lock is reported held")
            return
        }
        #expect(seen.owner == first)
        #expect(seen.age >= 0 && seen.age < 60)

        // A take-over based on an older look (another token) changes nothing.
        var stale = seen
        stale.rawOwner = owner(token: "someone-else").record
        #expect(try run(DeployLock.takeOverScript(stale, by: owner(token: "second"), lock: lock), in: dir) == .changed)
        // Nor one from before a refresh (another mtime).
        var older = seen
        older.modified = "1"
        #expect(try run(DeployLock.takeOverScript(older, by: owner(token: "second"), lock: lock), in: dir) == .changed)
        #expect(Owner(record: try String(contentsOfFile: lock + "/owner", encoding: .utf8)) == first)

        #expect(try run(DeployLock.takeOverScript(seen, by: owner(token: "second"), lock: lock), in: dir) == .acquired)
        #expect(Owner(record: try String(contentsOfFile: lock + "/owner", encoding: .utf8))?.token == "second")
        // The first holder has lost it: its refresh says so and its release leaves the lock alone.
        #expect(try run(DeployLock.refreshScript(token: "first", lock: lock), in: dir) == .lost)
        #expect(try run(DeployLock.releaseScript(token: "first", lock: lock), in: dir) == .lost)
        #expect(FileManager.default.fileExists(atPath: lock + "/owner"))
        #expect(try run(DeployLock.releaseScript(token: "second", lock: lock), in: dir) == .released)
        #expect(!FileManager.default.fileExists(atPath: lock))
    }

    @Test func aRefreshMakesAnOldLockYoungAgain() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lock = dir + "/deploy.lock"
        #expect(try run(DeployLock.acquireScript(owner(), lock: lock), in: dir) == .acquired)
        _ = try runShell("touch -d '-2 hours' \(shellQuote(lock))")
        guard case .held(let before)? = try run(DeployLock.acquireScript(owner(token: "other"), lock: lock), in: dir) else {
            Issue.record("held")
            return
        }
        #expect(before.age >= 7000)
        #expect(try run(DeployLock.refreshScript(token: "t0ken", lock: lock), in: dir) == .refreshed)
        guard case .held(let after)? = try run(DeployLock.acquireScript(owner(token: "other"), lock: lock), in: dir) else {
            Issue.record("held")
            return
        }
        #expect(after.age < 60)
    }

    @Test func hostileOwnerValuesAreWrittenAsTheyAreAndRunNothing() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lock = dir + "/deploy.lock"
        var hostile = owner()
        hostile.user = "o'ps$(touch pwned)`touch pwned`"
        hostile.host = "a'\u{301}; touch pwned; : '\u{301}"
        #expect(try run(DeployLock.acquireScript(hostile, lock: lock), in: dir) == .acquired)
        guard case .held(let seen)? = try run(DeployLock.acquireScript(owner(), lock: lock), in: dir) else {
            Issue.record("held")
            return
        }
        #expect(seen.owner == hostile)
        #expect(!FileManager.default.fileExists(atPath: dir + "/pwned"))
    }

    @Test func theResetScriptStopsAtAHeldLockAndRemovesOnlyTheDeadOneItSaw() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lock = dir + "/deploy.lock"
        try "#!/bin/sh\nexit 0\n".write(toFile: dir + "/systemctl", atomically: true, encoding: .utf8)
        chmod(dir + "/systemctl", 0o755)
        let plan = ResetPlan(units: ["etcd.service"], paths: [], managedConfigs: [], etcdDataDirectory: dir + "/etcd",
                             etcdData: .moveAside, keptDirectory: dir + "/backups")
        let env = "PATH=\(shellQuote(dir)):/usr/bin:/bin; export PATH; "
        #expect(try run(DeployLock.acquireScript(owner(), lock: lock), in: dir) == .acquired)
        let refused = ResetOutcome.parse(try runShell(env + plan.script(timestamp: "t", lockDirectory: lock)))
        let seen = try #require(refused.lock)
        #expect(seen.owner == owner())
        #expect(!refused.completed)
        #expect(refused.lockedBy?.hasPrefix("ops@admin pid 4242 since") == true)

        var other = seen
        other.rawOwner = owner(token: "not-what-was-seen").record
        let kept = ResetOutcome.parse(try runShell(env + plan.script(timestamp: "t", overridingLock: other, lockDirectory: lock)))
        #expect(kept.lock != nil && !kept.completed, "a lock that changed since is reported again")

        let done = ResetOutcome.parse(try runShell(env + plan.script(timestamp: "t", overridingLock: seen, lockDirectory: lock)))
        #expect(done.completed)
        #expect(done.removed.first == "\(lock) (left by a deploy that died)")
        #expect(!FileManager.default.fileExists(atPath: lock))
    }
}
