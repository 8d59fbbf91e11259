import ClusterupCore
import ClusterupDeploy
import ClusterupNodes
import ClusterupRollout
import ClusterupSSH
import ClusterupVerify
import Testing

/// A shell that answers every command with a fixed result and records what it ran.
final class ScriptedShell: RemoteShell, @unchecked Sendable {
    let hostName: String
    let answer: @Sendable (String) -> CommandResult
    private let ran = Locked<[String]>([])

    init(_ host: String, answer: @escaping @Sendable (String) -> CommandResult = { _ in CommandResult(exitStatus: 0, stdout: [], stderr: [], signal: nil) }) {
        hostName = host
        self.answer = answer
    }

    var commands: [String] { ran.withLock { $0 } }

    func run(_ command: String, sudo: Bool, timeout: Double?) throws -> CommandResult {
        ran.withLock { $0.append(command) }
        return answer(command)
    }
    func put(_ bytes: [UInt8], to path: String, mode: UInt32, owner: String?, group: String?) throws -> Bool { true }
    func get(_ path: String) throws -> [UInt8] { [] }
    func putAll(_ files: [SSHConnection.UploadFile]) throws {}
}

struct RollingHostsTests {
    let plan = ["node1", "node2", "node3"].map { RollingStep(host: $0, name: "kube-scheduler upgrade", guarding: .none) }

    @Test func runsEveryStepInOrderWhenAllSucceed() throws {
        let order = Locked<[String]>([])
        let rolling = RollingHosts(watch: nil, progress: { _ in })
        let outcomes = try rolling.run(plan, action: { step in order.withLock { $0.append("act \(step.host)") } },
                                       ready: { step in order.withLock { $0.append("ready \(step.host)") } })
        #expect(outcomes.map(\.step) == plan)
        #expect(order.withLock { $0 } == ["act node1", "ready node1", "act node2", "ready node2", "act node3", "ready node3"])
    }

    @Test func theFirstFailureStopsWithHostStepCommandAndStderr() {
        let shell = ScriptedShell("node2") { _ in CommandResult(exitStatus: 1, stdout: [], stderr: Array("unit not found\n".utf8), signal: nil) }
        let touched = Locked<[String]>([])
        let rolling = RollingHosts(watch: nil, progress: { _ in })
        do {
            _ = try rolling.run(plan, action: { step in
                touched.withLock { $0.append(step.host) }
                if step.host == "node2" { try RolloutCommand.run(shell, "systemctl restart kube-scheduler.service") }
            }, ready: { _ in })
            Issue.record("the rollout should have stopped at node2")
        } catch {
            #expect(error.host == "node2")
            #expect(error.step == "kube-scheduler upgrade (action)")
            #expect(error.command == "systemctl restart kube-scheduler.service")
            #expect(error.stderr == "unit not found")
            #expect(error.state.hasPrefix("1 of 3 step(s) done"))
            #expect(error.description.contains("a re-run resumes"))
        }
        // node3 was never touched.
        #expect(touched.withLock { $0 } == ["node1", "node2"])
    }

    @Test func anInterruptStopsBeforeTheNextStepNeverInsideOne() {
        let cancel = CancelFlag()
        let order = Locked<[String]>([])
        let rolling = RollingHosts(watch: nil, cancel: cancel, progress: { _ in })
        do {
            _ = try rolling.run(plan, action: { step in
                order.withLock { $0.append("act \(step.host)") }
                if step.host == "node1" { cancel.raise() }
            }, ready: { step in order.withLock { $0.append("ready \(step.host)") } })
            Issue.record("an interrupted rollout must stop")
        } catch {
            #expect(error.host == "node2" && error.reason == "interrupted before this step")
            #expect(error.state == "1 of 3 step(s) done")
        }
        // node1's step ran to its end; node2's never began.
        #expect(order.withLock { $0 } == ["act node1", "ready node1"])
    }

    @Test func aGuardTheRolloutWasNotGivenStopsBeforeTheAction() {
        let rolling = RollingHosts(watch: nil, progress: { _ in })
        let acted = Locked(false)
        #expect(throws: RolloutFailure.self) {
            _ = try rolling.run([RollingStep(host: "node1", name: "kube-apiserver upgrade", guarding: .drainAPIServer)],
                                action: { _ in acted.withLock { $0 = true } }, ready: { _ in })
        }
        #expect(acted.withLock { $0 } == false)
    }

    @Test func drainAndUndrainGoThroughEveryHAProxysRuntimeAPI() throws {
        // Every HAProxy accepts the commands and reports node2 UP with no sessions.
        let csv = "# pxname,svname,scur,status\nkube-apiservers,node1,0,UP\nkube-apiservers,node2,0,UP\n"
        let balancers = ["node1", "node2", "node3"].map { host in
            ScriptedShell(host) { command in
                let body = command.contains("show stat") ? "@@answer 0\n\(csv)" : "@@answer 0\n\n"
                return CommandResult(exitStatus: 0, stdout: Array(body.utf8), stderr: [], signal: nil)
            }
        }
        let drain = BackendDrain(balancers: Dictionary(uniqueKeysWithValues: balancers.map { ($0.hostName, $0 as any RemoteShell) }))
        let rolling = RollingHosts(watch: nil, drain: drain, progress: { _ in })
        let outcomes = try rolling.run([RollingStep(host: "node2", name: "kube-apiserver upgrade", guarding: .drainAPIServer)],
                                       action: { _ in }, ready: { _ in })
        #expect(outcomes[0].notes.first?.hasPrefix("drained on node1, node2, node3") == true)
        for shell in balancers {
            let sent = shell.commands.joined(separator: "\n")
            #expect(sent.contains("'set server kube-apiservers/node2 state drain'"))
            #expect(sent.contains("'set server kube-apiservers/node2 state ready'"))
            #expect(sent.range(of: "state drain")!.lowerBound < sent.range(of: "state ready")!.lowerBound)
        }
    }

    @Test func aDrainLeftByAnInterruptedRunIsTakenBackOnceReady() throws {
        // node2 is DRAIN on this HAProxy until `set server … state ready` arrives.
        let undrained = Locked(false)
        let shell = ScriptedShell("node1") { command in
            if command.contains("state ready") { undrained.withLock { $0 = true } }
            let node2 = undrained.withLock { $0 } ? "UP" : "DRAIN"
            let body = command.contains("show stat")
                ? "@@answer 0\n# pxname,svname,scur,status\nkube-apiservers,node1,0,UP\nkube-apiservers,node2,0,\(node2)\n" : "@@answer 0\n\n"
            return CommandResult(exitStatus: 0, stdout: Array(body.utf8), stderr: [], signal: nil)
        }
        let readyAsked = Locked<[String]>([])
        let rolling = RollingHosts(watch: nil, drain: BackendDrain(balancers: ["node1": shell]), progress: { _ in })
        let done = try rolling.recoverGuards(apiservers: ["node1", "node2"], ready: { server in readyAsked.withLock { $0.append(server) } })
        #expect(readyAsked.withLock { $0 } == ["node2"])
        #expect(done == ["node2: undrained (left drained by an interrupted run)"])
        #expect(shell.commands.contains { $0.contains("'set server kube-apiservers/node2 state ready'") })
        #expect(!shell.commands.contains { $0.contains("node1 state") })
    }

    /// node2 holds the VIP and its sessions to the drained server ended; node1 (the holder before
    /// a VIP move) still counts 2 ghost sessions that no client packet can reach any more.
    func balancers() -> [String: any RemoteShell] {
        Dictionary(uniqueKeysWithValues: [("node1", 2), ("node2", 0)].map { host, sessions in
            (host, ScriptedShell(host) { command in
                let body = command.contains("show stat")
                    ? "@@answer 0\n# pxname,svname,scur,status\nkube-apiservers,node3,\(sessions),DRAIN\n" : "@@answer 0\n\n"
                return CommandResult(exitStatus: 0, stdout: Array(body.utf8), stderr: [], signal: nil)
            } as any RemoteShell)
        })
    }

    @Test func aDrainWaitsOnlyForTheSessionsOfTheVIPHoldersHAProxy() throws {
        let drain = BackendDrain(balancers: balancers(), sessionsLimit: .seconds(5))
        let started = ContinuousClock.now
        let drained = try drain.drain("node3", serving: ["node2"])
        #expect(drained.sessionsLeft == 0)
        #expect(ContinuousClock.now - started < .seconds(2), "it waited for the ghost sessions of a former holder")
    }

    @Test func withTheHolderUnknownADrainCountsEveryHAProxy() throws {
        let drain = BackendDrain(balancers: balancers(), sessionsLimit: .milliseconds(300))
        #expect(try drain.drain("node3").sessionsLeft == 2)
        let stats = ["node1": HAProxyRuntime.ServerStat(status: "DRAIN", sessions: 2), "node2": HAProxyRuntime.ServerStat(status: "DRAIN", sessions: 1)]
        #expect(BackendDrain.sessionsLeft(stats, serving: nil) == 3)
        #expect(BackendDrain.sessionsLeft(stats, serving: ["node2"]) == 1)
    }

    @Test func aRefusedDrainNamesTheHostAndHAProxysAnswer() {
        let refusing = ScriptedShell("node3") { _ in CommandResult(exitStatus: 0, stdout: Array("@@answer 0\nNo such server.\n\n".utf8), stderr: [], signal: nil) }
        let drain = BackendDrain(balancers: ["node3": refusing])
        do {
            _ = try drain.drain("node9")
            Issue.record("a refused drain must throw")
        } catch let error as RolloutCommandError {
            #expect(error.host == "node3")
            #expect(error.command == "set server kube-apiservers/node9 state drain")
            #expect(error.stderr == "No such server.")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

struct RolloutLedgerTests {
    func ledger(_ guarding: RolloutGuard, stages: [RolloutStage], note: String? = nil) -> RolloutLedger {
        let steps = [RollingStep(host: "node1", name: "first", guarding: .none), RollingStep(host: "node2", name: "second", guarding: guarding)]
        var ledger = RolloutLedger(plan: steps)
        ledger.begin(steps[0])
        for stage in [RolloutStage.guarded, .acted, .ready, .restored] { ledger.reached(stage) }
        ledger.begin(steps[1])
        for stage in stages { ledger.reached(stage, note: stage == .guarded ? note : nil) }
        ledger.fail("boom")
        return ledger
    }

    @Test func aStopBeforeTheGuardChangedNothing() {
        let state = ledger(.drainAPIServer, stages: []).state
        #expect(state == "1 of 2 step(s) done; 'second' did not run on node2")
    }

    @Test func aStopAfterTheDrainSaysTheBackendIsStillDrained() {
        let state = ledger(.drainAPIServer, stages: [.guarded, .acted]).state
        #expect(state.contains("node2's kube-apiserver is still drained on every HAProxy"))
        #expect(state.contains("node2 ran 'second' and was not confirmed ready"))
    }

    @Test func aStopAfterTheHandOverSaysTheDaemonIsStopped() {
        let state = ledger(.handOverVIP, stages: [.guarded], note: "VIP handed over to node3").state
        #expect(state.contains("node2's VRRP daemon is stopped (VIP handed over to node3)"))
        #expect(state.contains("'second' did not run on node2"))
    }

    @Test func aStopAfterAnEtcdRestartKeepsQuorumInWords() {
        let state = ledger(.etcdMember, stages: [.guarded, .acted]).state
        #expect(state.contains("node2's etcd member was restarted and is not confirmed healthy and caught up"))
    }

    @Test func completedAndRemainingAccountForEveryStep() {
        let ledger = ledger(.none, stages: [.guarded, .acted, .ready])
        #expect(ledger.completed.map(\.host) == ["node1"])
        #expect(ledger.remaining.map(\.host) == ["node2"])
        #expect(ledger.entries.last?.failure == "boom")
    }
}

/// `upgrade apply`'s hand-over on the VIP holder is reset's (`VIPRelease`): forwarding on and the
/// holder's neighbour entry for the VIP dropped before its VRRP daemon stops.
struct VIPHandoverTests {
    static let vip = "198.51.100.62"

    /// node1 holds the VIP until the hand-over script ran on it; node2 from then on.
    func balancers(forwarded: Bool) -> (node1: ScriptedShell, [String: any RemoteShell]) {
        let handedOver = Locked(false)
        func shell(_ host: String) -> ScriptedShell {
            ScriptedShell(host) { command in
                var out = ""
                if command == "ip -o addr show" {
                    let holds = handedOver.withLock { $0 } == (host == "node2")
                    out = holds ? "2: eth0    inet \(Self.vip)/26 scope global eth0\n" : "2: eth0    inet 198.51.100.9/26 scope global eth0\n"
                } else if command.contains("systemctl stop") {
                    handedOver.withLock { $0 = true }
                    out = (forwarded ? "forwarded-during-handover\n" : "") + "handed-over \(Self.vip)\n"
                }
                return CommandResult(exitStatus: 0, stdout: Array(out.utf8), stderr: [], signal: nil)
            }
        }
        let node1 = shell("node1")
        return (node1, ["node1": node1, "node2": shell("node2")])
    }

    @Test func theHolderDropsItsNeighbourEntryAndForwardsBeforeItsDaemonStops() throws {
        let (node1, balancers) = balancers(forwarded: true)
        let handover = VIPHandover(balancers: balancers, vip: Self.vip, port: 8443, vrrpUnit: "clusterup-vrrpd.service", expectedHolder: "node1")
        let moved = try handover.handOver(from: "node1")
        #expect(moved.from == "node1" && moved.to == "node2" && moved.forwarded, "\(moved)")
        let script = try #require(node1.commands.first { $0.contains("systemctl stop") })
        let forward = try #require(script.range(of: "echo 1 > /proc/sys/net/ipv4/ip_forward"), "\(script)")
        let flush = try #require(script.range(of: "ip neigh flush to \(Self.vip)"), "\(script)")
        let stop = try #require(script.range(of: "systemctl stop clusterup-vrrpd.service"), "\(script)")
        #expect(forward.lowerBound < stop.lowerBound && flush.lowerBound < stop.lowerBound, "\(script)")
        // It waits for the connections to the VIP's port before returning.
        #expect(script.contains("src \(Self.vip):8443"), "\(script)")
        // A host that does not hold the VIP stops its daemon all the same.
        #expect(script.hasSuffix("fi\nsystemctl stop clusterup-vrrpd.service\n"), "\(script)")
    }

    @Test func withoutForwardingTheHandOverSaysSo() throws {
        let (_, balancers) = balancers(forwarded: false)
        let handover = VIPHandover(balancers: balancers, vip: Self.vip, port: 8443, vrrpUnit: "keepalived.service", expectedHolder: nil)
        #expect(try handover.handOver(from: "node1").forwarded == false)
    }
}
