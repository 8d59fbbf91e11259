import ClusterupCore
import ClusterupSSH
import Foundation

/// Set from a signal handler; the runner checks it between steps and restores before returning.
public final class CancelFlag: Sendable {
    private let raised = Locked(false)

    public init() {}

    public func raise() { raised.withLock { $0 = true } }
    public var isRaised: Bool { raised.withLock { $0 } }
}

public struct FailoverOptions: Sendable {
    public var mode: FailureMode
    public var rounds: Int
    /// How long the network mode keeps the master cut off (it heals itself after this).
    public var cut: Duration
    /// How long other modes keep the fault before restoring.
    public var hold: Duration
    /// Longest wait for a new master, and for convergence after restore.
    public var deadline: Duration
    /// Where the prober connects: the control-plane endpoint (VIP:vip.port) unless told otherwise.
    public var probeTarget: ProbeTarget
    public var probe: ProbeKind
    public var probeInterval: Duration
    public var probeTimeout: Duration
    /// Crash mode in a lab: stop the master's whole node (its init is killed, as on power loss)
    /// instead of killing the VRRP daemon, and boot it again to restore.
    public var stopNode: Bool = false
    /// Longest time from sending the fault to seeing it in effect (`Fault.confirm`); past it the
    /// round measured nothing and says so.
    public var injectLimit: Duration = .seconds(10)
    /// Longest time the restore command may take (a stop node's boot has its own, longer wait).
    public var restoreLimit: Duration = .seconds(30)

    public init(mode: FailureMode, rounds: Int = 1, cut: Duration = .seconds(3), hold: Duration = .seconds(1),
                deadline: Duration = .seconds(15), probeTarget: ProbeTarget, probe: ProbeKind = .tcp,
                probeInterval: Duration = .milliseconds(2), probeTimeout: Duration = .milliseconds(30)) {
        self.mode = mode
        self.rounds = rounds
        self.cut = cut
        self.hold = hold
        self.deadline = deadline
        self.probeTarget = probeTarget
        self.probe = probe
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
    }
}

/// Powers a node off and on from outside it. Only a lab can (its nodes are machines on this
/// host): `verify failover --mode crash --stop-node`. Both block until done.
public struct NodePower: Sendable {
    /// Stops the node at once, as on power loss.
    public var stop: @Sendable (_ host: String) throws -> Void
    /// Boots it again and returns once its SSH server answers.
    public var start: @Sendable (_ host: String) throws -> Void

    public init(stop: @escaping @Sendable (String) throws -> Void, start: @escaping @Sendable (String) throws -> Void) {
        self.stop = stop
        self.start = start
    }
}

/// Breaks the VRRP master round after round while probing the VIP, and puts every node back.
/// Blocking: run it on a dedicated thread (`DedicatedThread.run`), never on the cooperative pool.
public final class FailoverRunner: @unchecked Sendable {
    let inventory: Inventory
    let vip: VIPSettings
    let vrrp: VRRPSettings
    let options: FailoverOptions
    private let connections: Locked<[String: SSHConnection]>
    /// For --stop-node: the power switch, and a way to reconnect to the node once it is back.
    let power: NodePower?
    let connector: HostConnector?
    let lbHosts: [InventoryHost]
    /// The lb hosts' interface that carries the VIP: where the faults remove it or cut traffic.
    let interface: String
    let cancel: CancelFlag
    let progress: @Sendable (String) -> Void
    public let prober: Prober

    /// Connections to every lb host must be open already (`connectAll`).
    /// `power` and `connector` are needed for `options.stopNode` only.
    public init(inventory: Inventory, options: FailoverOptions, connections: [String: SSHConnection], cancel: CancelFlag,
                power: NodePower? = nil, connector: HostConnector? = nil,
                progress: @escaping @Sendable (String) -> Void) throws(ClusterupError) {
        guard let vip = inventory.vip, let vrrp = inventory.vrrp else {
            throw .badInput("the inventory has no vip/vrrp section: there is nothing to fail over", at: inventory.path)
        }
        guard let interface = vrrp.interface else {
            // The inventory reader requires it once there are lb hosts; a failover needs lb hosts.
            throw .badInput("vrrp.interface is not set: verify failover needs the interface that carries the VIP on the lb hosts",
                            at: "\(inventory.path): vrrp.interface", hint: "name it, e.g. 'interface: eth0' under vrrp")
        }
        self.inventory = inventory
        self.vip = vip
        self.vrrp = vrrp
        self.interface = interface
        self.options = options
        guard !options.stopNode || (power != nil && connector != nil && options.mode == .crash) else {
            throw .badInput("--stop-node needs --mode crash and a lab to power nodes off and on", at: "--stop-node")
        }
        self.connections = Locked(connections)
        self.power = power
        self.connector = connector
        self.lbHosts = inventory.hosts(withRole: .lb)
        self.cancel = cancel
        self.progress = progress
        self.prober = Prober(target: options.probeTarget, kind: options.probe, interval: options.probeInterval,
                             timeout: options.probeTimeout)
    }

    /// Opens one SSH connection per host, in parallel.
    public static func connectAll(_ hosts: [InventoryHost], connector: HostConnector) throws -> [String: SSHConnection] {
        let results = FanOut(concurrency: max(1, hosts.count)).runBlocking(hosts, name: \.name) { host, _ in
            try connector.connect(host)
        }
        var connections: [String: SSHConnection] = [:]
        var failures: [String] = []
        for result in results {
            if let connection = result.value { connections[result.host] = connection }
            else { failures.append("\(result.host): \(result.error.map(String.init(describing:)) ?? "skipped")") }
        }
        guard failures.isEmpty else {
            connections.values.forEach { $0.close() }
            throw ClusterupError.remote("cannot reach every lb host: \(failures.joined(separator: "; "))")
        }
        return connections
    }

    var vrrpUnit: String { ExpectedServices.vrrpUnit(vrrp.backend) }

    var expectedHolder: String? {
        VIPPlacement.expectedHolder(
            priorities: inventory.vrrpPriorities,
            addresses: Dictionary(uniqueKeysWithValues: lbHosts.map { ($0.name, $0.privateAddress) }),
            preempt: vrrp.preempt)
    }

    /// Refuses to start unless two or more VRRP nodes run, exactly one holds the VIP, and every node
    /// the run may break has what the mode needs (`FaultPreflight`). Breaks nothing.
    public func preflight() throws(ClusterupError) -> String {
        let surveyed = FanOut(concurrency: max(1, lbHosts.count)).runBlocking(lbHosts, name: \.name) { [self] host, _ in try nodeState(host) }
        let states = surveyed.map { ($0.host, $0.value) }
        let running = states.filter { $0.1?.services[vrrpUnit] == true }.map(\.0)
        guard running.count >= 2 else {
            let unreadable = surveyed.compactMap { result in result.error.map { "\(result.host): \($0)" } }
            throw .remote("only \(running.count) lb host(s) run \(vrrpUnit) (\(running.joined(separator: ", "))): a failover would take the VIP down"
                          + (unreadable.isEmpty ? "" : "; could not read \(unreadable.joined(separator: "; "))"),
                          hint: "start \(vrrpUnit) on the other lb hosts, or deploy more lb hosts")
        }
        let holders = states.filter { $0.1?.holdsVIP == true }.map(\.0)
        guard holders.count == 1 else {
            throw .remote(holders.isEmpty ? "no lb host holds \(vip.address)" : "split brain before the test: \(holders.joined(separator: ", ")) hold \(vip.address)",
                          hint: "run `clusterup verify` and fix the VIP first")
        }
        if options.mode == .service && vrrp.track.isEmpty {
            throw .badInput("--mode service needs health tracking, but vrrp.track is empty: stopping HAProxy would not move the VIP",
                            at: "\(inventory.path): vrrp.track",
                            hint: "add e.g. `track: {tcp: 127.0.0.1:\(vip.port), interval: 100ms, fall: 2, rise: 2}` under vrrp and deploy")
        }
        try checkPrerequisites(holder: holders[0])
        return holders[0]
    }

    /// Asks every node the run may break for what the mode needs, in parallel: one SSH exec each.
    func checkPrerequisites(holder: String) throws(ClusterupError) {
        let prerequisites = FaultPreflight.prerequisites(mode: options.mode, stopNode: options.stopNode,
                                                         vrrpUnit: vrrpUnit, interface: interface)
        guard !prerequisites.isEmpty else { return }
        let involved = FaultPreflight.involvedHosts(holder: holder, expectedHolder: expectedHolder,
                                                    lbHosts: lbHosts.map(\.name), rounds: options.rounds)
        let hosts = lbHosts.filter { involved.contains($0.name) }
        let script = FaultPreflight.script(prerequisites)
        let answers = FanOut(concurrency: max(1, hosts.count)).runBlocking(hosts, name: \.name) { [self] host, _ in
            try connection(host.name).run(script, sudo: true, timeout: 20).stdoutText
        }
        var findings: [PreflightFinding] = []
        for answer in answers {
            guard let output = answer.value else {
                throw .remote("could not check what --mode \(options.mode.rawValue) needs on \(answer.host): "
                              + (answer.error.map { String(describing: $0) } ?? "skipped"), host: answer.host)
            }
            findings += FaultPreflight.findings(host: answer.host, prerequisites: prerequisites, facts: FaultPreflight.parse(output))
        }
        if let error = FaultPreflight.error(findings, mode: options.mode) { throw error }
    }

    public func run() throws -> [FailoverRound] {
        _ = try preflight()
        try prober.start()
        defer { _ = prober.stop() }
        progress("probing \(prober) every \(FailoverRound.ms(prober.interval)) (timeout \(FailoverRound.ms(prober.timeout)) each"
                 + (prober.realtime ? ", realtime scheduling)" : "; no realtime scheduling: figures are coarser on a busy machine)"))
        try awaitBaseline()
        var rounds: [FailoverRound] = []
        for index in 1...options.rounds {
            if cancel.isRaised { break }
            rounds.append(round(index))
            // A round that measured nothing or failed over nowhere would likely do so again.
            if rounds.last.map({ !$0.isValid || $0.error != nil }) == true || cancel.isRaised { break }
        }
        return rounds
    }

    /// The probe must succeed steadily before any fault: otherwise every figure would be an
    /// artefact of the probe (wrong CA, 401, wrong port), not of the failover.
    func awaitBaseline() throws(ClusterupError) {
        let steady = Duration.milliseconds(200)
        let deadline = prober.now + .seconds(5)
        while prober.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            if Self.steady(prober.log, now: prober.now, over: steady) { return }
        }
        let log = prober.log
        throw .remote("the probe \(prober) does not succeed steadily before any fault (\(log.failedProbes) of \(log.samples.count) probes failed"
                      + (prober.lastFailure.map { ", last: \($0)" } ?? "") + ")",
                      hint: Self.baselineHint(prober.lastFailure, kind: options.probe))
    }

    /// The probe reaches the VIP when every probe of the last `stretch` (five at least) succeeded.
    public static func steady(_ log: ProbeLog, now: Duration, over stretch: Duration) -> Bool {
        guard now > stretch else { return false }
        let recent = log.window(from: now - stretch, to: now).samples
        return recent.count >= 5 && recent.allSatisfy(\.ok)
    }

    public static func baselineHint(_ failure: String?, kind: ProbeKind) -> String {
        if let failure, failure.hasPrefix("HTTP 401") || failure.hasPrefix("HTTP 403") {
            return "the apiserver refuses anonymous requests for this path: pass --probe-cert and --probe-key (e.g. admin.crt and admin.key from the pki directory)"
        }
        if let failure, failure.contains("certificate verify failed") {
            return "the server's certificate does not chain to --probe-ca or does not name the target: check the CA, and that the VIP is a SAN of the apiserver certificate (`clusterup certs gen`, then deploy)"
        }
        return "check `clusterup verify`, --target and --probe-timeout" + (kind == .tcp ? "" : ", or try --probe tcp")
    }

    /// One round: the decisions are `FailoverRoundPlan`'s; this asks the nodes and the prober.
    func round(_ index: Int) -> FailoverRound {
        let holders = vipHolders()
        let plan: FailoverRoundPlan
        switch FailoverRoundPlan.start(index: index, options: options, holders: holders, lbHosts: lbHosts.map(\.name),
                                       expectedHolder: expectedHolder) {
        case .skipped(let round): return round
        case .plan(let started): plan = started
        }
        let master = lbHosts.first { $0.name == plan.master }!
        let (before, unreadable) = awaitHealthy(master, until: prober.now + plan.deadline)
        guard let before, FailoverRoundPlan.isHealthy(before) else {
            return plan.notHealthy(before, unreadable: unreadable, holders: holders)
        }
        progress("round \(index): \(options.mode.rawValue) failure of the master \(master.name)" + (options.stopNode ? " (stopping the whole node)" : ""))
        let fault = Fault.make(options.mode, Fault.Context(
            vrrpUnit: vrrpUnit, vip: vip.address, prefix: vip.prefix, interface: interface,
            sshPort: master.ssh.port ?? SSHSettings.defaultPort, cut: options.cut))
        let schedule = plan.schedule(injectedAt: prober.now)
        let (failure, takeover) = injectWhileWatching(fault, on: master, schedule)
        var result = plan.afterInjection(schedule, injectionFailure: failure, takeover: takeover, cancelled: cancel.isRaised)
        guard failure == nil else {
            // Undo whatever part of it did happen; the round measured nothing either way.
            result.markers.restore = prober.now
            if let failed = restore(master, fault, &result, before: before) { result.notRestored.append(failed) }
            result.measure(prober.log.window(from: schedule.windowStart, to: prober.now), injected: schedule.injected, restoredAt: nil)
            return result
        }
        if let takeover {
            progress("round \(index): \(takeover.host) holds the VIP after \(String(format: "%.1f", (takeover.at - schedule.injected).milliseconds)) ms")
        }
        // Keep the fault long enough for clients to settle on the new master.
        while prober.now < schedule.faultEnd && !cancel.isRaised { Thread.sleep(forTimeInterval: 0.02) }
        if cancel.isRaised { result.outcome = .interrupted }
        let restoredAt = prober.now
        result.markers.restore = restoredAt
        result.recordRestore(failure: restore(master, fault, &result, before: before))
        if result.outcome.isMeasured { waitForAnswers(since: restoredAt, deadline: prober.now + plan.deadline) }
        result.measure(prober.log.window(from: schedule.windowStart, to: prober.now), injected: schedule.injected, restoredAt: restoredAt)
        return result
    }

    /// Reads the master's state until it is healthy or `deadline` passes: the last state read
    /// (nil if none could be), and why the last read failed.
    func awaitHealthy(_ master: InventoryHost, until deadline: Duration) -> (NodeState?, String) {
        var state: NodeState?
        var unreadable = ""
        repeat {
            do { state = try nodeState(master) } catch { unreadable = "state unreadable: \(error)" }
            if FailoverRoundPlan.isHealthy(state) { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while prober.now < deadline && !cancel.isRaised
        return (state, unreadable)
    }

    /// Sends the fault on its own thread while this one watches the other lb hosts for the VIP:
    /// the takeover happens while the fault is being confirmed. Returns why the fault did not take
    /// effect (nil: it did), and the first other holder seen with when.
    func injectWhileWatching(_ fault: Fault, on master: InventoryHost, _ schedule: FailoverRoundPlan.Schedule)
        -> (failure: String?, takeover: (host: String, at: Duration)?) {
        // nil while the fault goes in; then .some(nil) once it is in effect, .some(why) if not.
        let injection = Locked<String??>(nil)
        let injectionDone = DispatchSemaphore(value: 0)
        Thread { [self] in
            let failure = inject(fault, on: master, since: schedule.injected)
            injection.withLock { $0 = .some(failure) }
            injectionDone.signal()
        }.start()
        let takeover = waitForNewMaster(excluding: master.name, deadline: schedule.takeoverDeadline) {
            // Stop watching once the fault is known not to have taken effect.
            injection.withLock { outcome in if case .some(.some) = outcome { return true } else { return false } }
        }
        injectionDone.wait()
        return (injection.withLock { $0 } ?? nil, takeover.map { (host: $0.0, at: $0.1) })
    }

    /// Sends the fault and waits, within the injection time limit, until it is in effect. nil
    /// when it is; otherwise why not, in words.
    func inject(_ fault: Fault, on master: InventoryHost, since injected: Duration) -> String? {
        let limit = options.injectLimit
        if options.stopNode {
            // The lab's power switch returns once the node's init is gone.
            guard let power else { return "no way to stop \(master.name)" }
            do { try power.stop(master.name) } catch { return "could not stop \(master.name): \(error)" }
            return nil
        }
        let connection = connection(master.name)
        do {
            let answer = try connection.run(fault.inject, sudo: true, timeout: limit.totalSeconds)
            guard answer.succeeded else {
                return "the fault command failed on \(master.name): \(Self.oneLine(answer.stderrText + answer.stdoutText))"
            }
        } catch {
            return "the fault command did not finish on \(master.name) within \(Self.seconds(limit)): \(error)"
        }
        var missing = ""
        repeat {
            do {
                let check = try connection.run(fault.confirm, sudo: true, timeout: max(1, (injected + limit - prober.now).totalSeconds))
                if check.succeeded { return nil }
                missing = Self.oneLine(check.stdoutText + check.stderrText)
            } catch {
                missing = String(describing: error)
            }
            Thread.sleep(forTimeInterval: 0.05)
        } while prober.now < injected + limit && !cancel.isRaised
        if cancel.isRaised { return "interrupted before the fault was seen in effect on \(master.name)" }
        return "the fault was not in effect on \(master.name) within \(Self.seconds(limit)) (--inject-timeout): \(missing)"
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%g s", duration.totalSeconds)
    }

    /// Waits until the VIP has answered every probe for a quiet stretch (so a failback outage is
    /// measured whole, not cut off by the end of the round).
    func waitForAnswers(since start: Duration, deadline: Duration) {
        let quiet = Duration.milliseconds(500)
        while prober.now < deadline && !cancel.isRaised {
            let now = prober.now
            if now - start > quiet {
                let recent = prober.log.window(from: now - quiet, to: now).samples
                if recent.count > 10 && recent.allSatisfy(\.ok) { return }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Undoes the fault and waits until the VIP is where the configuration puts it. Returns why the
    /// restore itself failed (the command failed or exceeded its time limit), or nil; a node that
    /// is back but not as before is recorded in `notRestored`.
    func restore(_ master: InventoryHost, _ fault: Fault, _ result: inout FailoverRound, before: NodeState) -> String? {
        var restoreError: String?
        if options.stopNode {
            restoreError = bootAgain(master)
        } else {
            let connection = connection(master.name)
            let limit = options.restoreLimit
            let until = prober.now + limit
            // The network mode may have outlived the connection; reconnecting is not ours to do here,
            // but the heal timer removes the rules regardless.
            var attempt = 0
            repeat {
                do {
                    let answer = try connection.run(fault.restore, sudo: true, timeout: max(1, (until - prober.now).totalSeconds))
                    restoreError = answer.succeeded ? nil : "the restore command failed on \(master.name): \(Self.oneLine(answer.stderrText))"
                    break
                } catch {
                    restoreError = "the restore command did not finish on \(master.name) within \(Self.seconds(limit)) (--restore-timeout): \(error)"
                    attempt += 1
                    Thread.sleep(forTimeInterval: min(0.3 * Double(attempt), max(0, (until - prober.now).totalSeconds)))
                }
            } while prober.now < until
        }
        // A booting node needs etcd to rejoin and the apiserver to turn ready before HAProxy
        // sees it up: more than a daemon restart.
        let deadline = prober.now + (options.stopNode ? max(options.deadline, .seconds(120)) : options.deadline)
        var holders: [String] = []
        var after: NodeState?
        var unreadable = ""
        repeat {
            holders = vipHolders()
            do { after = try nodeState(master) } catch { after = nil; unreadable = String(describing: error) }
            let placed = holders.count == 1 && (result.expectedHolder == nil || holders == [result.expectedHolder!])
            if placed && result.markers.placed == nil { result.markers.placed = prober.now }
            let servicesBack = after.map { $0.services == before.services } ?? false
            if placed && servicesBack { break }
            Thread.sleep(forTimeInterval: 0.1)
        } while prober.now < deadline && restoreError == nil
        result.holderAfter = holders
        guard let after else {
            result.notRestored.append("state unreadable after restore: \(unreadable)")
            return restoreError
        }
        // VIP placement is judged against the configuration (expectedHolder), not the old state.
        var comparable = after
        comparable.holdsVIP = before.holdsVIP
        result.notRestored += comparable.differences(from: before)
        return restoreError
    }

    /// Boots a stopped node and reconnects to it; the error in words, or nil.
    func bootAgain(_ master: InventoryHost) -> String? {
        guard let power, let connector else { return "no way to start \(master.name) again" }
        do {
            try power.start(master.name)
        } catch {
            return "could not start \(master.name) again: \(error)"
        }
        var lastError = ""
        for attempt in 0..<10 {
            do {
                let fresh = try connector.connect(master)
                let stale = connections.withLock { connections in
                    defer { connections[master.name] = fresh }
                    return connections[master.name]
                }
                stale?.close()
                return nil
            } catch {
                lastError = String(describing: error)
                Thread.sleep(forTimeInterval: 0.5 * Double(attempt + 1))
            }
        }
        return "\(master.name) booted but does not answer SSH: \(lastError)"
    }

    func connection(_ host: String) -> SSHConnection {
        connections.withLock { $0[host]! }
    }

    /// Polls the other lb hosts in parallel until one holds the VIP.
    func waitForNewMaster(excluding old: String, deadline: Duration, abandon: @escaping @Sendable () -> Bool) -> (String, Duration)? {
        let found = Locked<(String, Duration)?>(nil)
        let others = lbHosts.filter { $0.name != old }
        let address = vip.address
        _ = FanOut(concurrency: max(1, others.count)).runBlocking(others, name: \.name) { [self] host, _ in
            let connection = connection(host.name)
            while prober.now < deadline && found.withLock({ $0 == nil }) && !cancel.isRaised && !abandon() {
                let output = try connection.run("ip -o addr show", sudo: false, timeout: 5)
                let seen = prober.now
                if Self.holds(address, ipOutput: output.stdoutText) {
                    found.withLock { if $0 == nil { $0 = (host.name, seen) } }
                    return
                }
            }
        }
        return found.withLock { $0 }
    }

    func vipHolders() -> [String] {
        let address = vip.address
        let results = FanOut(concurrency: max(1, lbHosts.count)).runBlocking(lbHosts, name: \.name) { [self] host, _ in
            let output = try connection(host.name).run("ip -o addr show", sudo: false, timeout: 5)
            return Self.holds(address, ipOutput: output.stdoutText)
        }
        return results.filter { $0.value == true }.map(\.host)
    }

    func nodeState(_ host: InventoryHost) throws -> NodeState {
        let units = ExpectedServices.units(for: host, backend: vrrp.backend)
        let lb = host.roles.contains(.lb)
        let script = HostSurvey.script(units: units, haproxy: lb, etcdctl: nil, vrrpd: false)
        let survey = HostSurvey.parse(try connection(host.name).run(script, sudo: true, timeout: 30).stdoutText)
        var services = Dictionary(uniqueKeysWithValues: units.map { ($0, survey.units[$0] == "active") })
        if lb {
            // HAProxy must see every apiserver again, as before the fault (a cut marks them down).
            let backends = inventory.hosts(withRole: .controlPlane).map(\.name)
            services["haproxy backends up"] = backends.allSatisfy { survey.haproxyBackends?[$0] == "UP" }
        }
        return NodeState(services: services, holdsVIP: survey.addresses.contains(vip.address))
    }

    static func holds(_ address: String, ipOutput: String) -> Bool {
        ipOutput.split(separator: "\n").contains { line in
            line.split(separator: " ").contains { $0.hasPrefix(address + "/") }
        }
    }

    /// Closes the SSH connections to the lb hosts.
    public func closeAll() {
        connections.withLock { $0.values.forEach { $0.close() } }
    }
}
