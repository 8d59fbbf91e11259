import VRRPConfig
import CVRRPSys
import Glibc
import VRRP
import TextFormats

/// The daemon: one thread polling every socket with a monotonic clock; check threads report
/// through the mailbox. SIGTERM/SIGINT resign (priority 0) and remove the VIPs; SIGHUP reloads;
/// SIGUSR2 restarts in place (`RestartHandoff`): the binary now at the daemon's path, once it has
/// accepted the configuration, replaces the process image, and Masters stay Master.
public final class Daemon {
    let configPath: String
    /// The command line it was started with: argv[0] is the binary a restart in place runs.
    let arguments: [String]
    /// What the image this one replaced handed over, if it restarted in place.
    private let resume: RestartHandoff?
    private var restartsInPlace = 0
    /// The new binary's `--check-restart-in-place` run, while a restart in place waits for it.
    private var pendingRestart: (pid: Int32, since: UInt64)?
    private(set) var config: DaemonConfig
    private(set) var instances: [Instance] = []
    private let notifier = Notifier()
    private let mailbox: Mailbox
    private let links: LinkMonitor
    private let signals: Int32
    private var status: StatusServer
    private var checkers: HealthCheckers?
    private var generation = 0
    private let startedAt = cvrrp_monotonic_ns()
    private var reloads = 0

    /// Sets up everything; throws with a message naming what failed (nothing is left applied).
    public init(configPath: String, config: DaemonConfig, arguments: [String] = [], handoff: String? = nil) throws(SystemError) {
        self.configPath = configPath
        self.config = config
        self.arguments = arguments
        resume = handoff.flatMap { RestartHandoff.decode($0, now: cvrrp_monotonic_ns()) }
        restartsInPlace = resume?.restarts ?? 0
        cvrrp_single_malloc_arena()
        // Before any thread exists, so every thread inherits the blocked signals.
        signals = try SystemError.check(cvrrp_signalfd(), "setting up signal handling")
        mailbox = try Mailbox()
        links = try LinkMonitor()
        status = try StatusServer(path: config.statusSocket, prometheus: config.prometheus)
        do {
            for c in config.instances { instances.append(try Instance(config: c, notifier: notifier)) }
        } catch {
            status.shutdown()
            throw error
        }
        linkSiblings()
    }

    deinit { ready.deallocate() }

    /// Runs until SIGTERM or SIGINT; returns the exit code.
    public func run() -> Int32 {
        if config.realtimePriority > 0 { applyRealtimePriority(config.realtimePriority) }
        Log.info("start", ["config": configPath, "instances": instances.map(\.config.name).joined(separator: ","),
                           "status_socket": config.statusSocket])
        restartCheckers()
        let now = cvrrp_monotonic_ns()
        if let resume {
            Log.info("resumed", ["restarts_in_place": String(resume.restarts), "handoff_ms": String((now - resume.at) / 1_000_000),
                                 "masters": resume.instances.filter { $0.value.master }.keys.sorted().joined(separator: ",")])
        }
        for i in instances { i.start(now: now, resume: resume?.instances[i.config.name]) }
        _ = cvrrp_unmap_unused_text()
        // One iteration per advert sent or received: no allocation, one clock read per wake-up
        // (plus one to compute the timeout), the epoll set rebuilt only when it changes.
        // The instances in a local, refreshed whenever they may have changed (reloads mark the
        // poll set stale): walking the stored property retains and releases each one per wake-up.
        var live = instances
        while true {
            if pollSetIsStale {
                if let problem = rebuildPollSet() {
                    Log.error("poll-failed", ["error": problem.description])
                    return 1
                }
                live = instances
            }
            var next: UInt64? = nil
            for i in live { next = earliest(next, i.nextDeadline) }
            let timeout: Int64 = next.map { deadline in
                let now = cvrrp_monotonic_ns()
                return deadline > now ? min(Int64(deadline - now), 1_000_000_000) : 0
            } ?? 1_000_000_000
            let rc = cvrrp_epoll_wait_ns(epoll, ready, Int32(Self.readyCapacity), timeout)
            if rc < 0, rc != -EINTR {
                Log.error("poll-failed", ["error": SystemError("epoll_wait", errno: -rc).description])
                return 1
            }
            let now = cvrrp_monotonic_ns()
            // Batching Backups first: their adverts re-arm Master_Down before it is looked at,
            // and a resignation on a wake socket is checked against what the drain saw.
            for i in live where i.pollsDeferred { i.drain(now: now) }
            if rc > 0, let code = dispatch(ready: Int(rc), now: now) { return code }
            if pollSetIsStale { live = instances }
            for i in live { i.fireTimers(now: now) }
            if pendingRestart != nil, let code = continueRestartInPlace(now: now) { return code }
            for (n, i) in live.enumerated() where i.defersIntake != i.pollsDeferred { setIntakePolling(i, instance: n) }
            if !notifier.isIdle { notifier.reap() }
        }
    }

    private enum Source {
        case signal, mailbox, links, status, prometheus, prometheusClient(Int32), instance(Int), instanceWake(Int)
    }
    /// What each descriptor of the epoll set is; its tag is the index here.
    private var sources: [Source] = []
    private var epoll: Int32 = -1
    /// Tags of the ready descriptors of one wait: a fixed buffer, not an array, so a wake-up
    /// does no uniqueness or exclusivity check to fill it.
    private let ready = UnsafeMutablePointer<UInt32>.allocate(capacity: Daemon.readyCapacity)
    private static let readyCapacity = 32
    /// Set when instances, the status server or its HTTP clients change.
    private var pollSetIsStale = true

    /// A fresh epoll set (descriptors change rarely: reloads, Prometheus clients).
    private func rebuildPollSet() -> SystemError? {
        pollSetIsStale = false
        if epoll >= 0 { close(epoll) }
        epoll = cvrrp_epoll_create()
        if epoll < 0 { return SystemError("epoll_create", errno: -epoll) }
        sources.removeAll(keepingCapacity: true)
        var failure: SystemError?
        func add(_ fd: Int32, _ s: Source) {
            let rc = cvrrp_epoll_add(epoll, fd, UInt32(sources.count))
            if rc < 0 { failure = SystemError("epoll_ctl", errno: -rc) }
            sources.append(s)
        }
        // Adverts first: when a packet and a timer are both due, the packet wins.
        for (n, i) in instances.enumerated() {
            add(i.socket.fd, .instance(n))
            i.pollsDeferred = false
            setIntakePolling(i, instance: n)
        }
        for (n, i) in instances.enumerated() { add(i.socket.wakeFD, .instanceWake(n)) }
        add(signals, .signal)
        add(mailbox.wakeFD, .mailbox)
        add(links.fd, .links)
        add(status.unixFD, .status)
        if let p = status.prometheusFD { add(p, .prometheus) }
        for c in status.httpClients { add(c, .prometheusClient(c)) }
        return failure
    }

    private func dispatch(ready count: Int, now: UInt64) -> Int32? {
        // In tag order: adverts first, so when a packet and a timer are both due, the packet wins.
        // Insertion sort in place (usually one tag).
        for i in 1..<max(1, count) {
            var j = i
            while j > 0, ready[j - 1] > ready[j] {
                (ready[j - 1], ready[j]) = (ready[j], ready[j - 1])
                j -= 1
            }
        }
        for k in 0..<count {
            switch sources[Int(ready[k])] {
            case .instance(let n):
                instances[n].receive(now: now)
            case .instanceWake(let n):
                instances[n].wake(now: now)
            case .signal:
                while case let sig = cvrrp_signalfd_read(signals), sig != 0 {
                    if sig == SIGHUP {
                        reload(now: cvrrp_monotonic_ns())
                    } else if sig == SIGUSR2 {
                        beginRestartInPlace(now: cvrrp_monotonic_ns())
                    } else {
                        return shutdown(signal: sig)
                    }
                }
            case .mailbox:
                for r in mailbox.drain() where r.generation == generation && instances.indices.contains(r.instance) {
                    instances[r.instance].checkResult(index: r.index, ok: r.ok, detail: r.detail, now: now)
                }
            case .links:
                if let events = links.read() {
                    for e in events {
                        switch e {
                        case .link(let ifindex, let up): instances.forEach { $0.linkChanged(ifindex: ifindex, up: up, now: now) }
                        case .ipv6Addresses(let ifindex): instances.forEach { $0.ipv6AddressesChanged(ifindex: ifindex, now: now) }
                        }
                    }
                } else {
                    instances.forEach { $0.resyncLinks(now: now) }
                }
            case .status:
                status.acceptStatus { statusJSON(now: cvrrp_monotonic_ns()).pretty }
            case .prometheus:
                status.acceptPrometheus()
                pollSetIsStale = true
            case .prometheusClient(let c):
                status.answerPrometheus(c) { prometheusText() }
                pollSetIsStale = true
            }
        }
        return nil
    }

    /// Polls instance `n`'s main socket unless it batches its intake (a Backup, see
    /// `Instance.defersIntake`); its tag is `n`, the instances coming first in the poll set.
    private func setIntakePolling(_ i: Instance, instance n: Int) {
        let deferred = i.defersIntake
        guard deferred != i.pollsDeferred else { return }
        let rc = cvrrp_epoll_enable(epoll, i.socket.fd, UInt32(n), deferred ? 0 : 1)
        if rc < 0 {
            Log.error("poll-failed", ["instance": i.config.name, "error": SystemError("epoll_ctl", errno: -rc).description])
            pollSetIsStale = true  // rebuilt on the next turn
            return
        }
        i.pollsDeferred = deferred
    }

    private func shutdown(signal: Int32) -> Int32 {
        Log.info("stop", ["signal": signal == SIGTERM ? "SIGTERM" : "SIGINT"])
        checkers?.stop()
        let now = cvrrp_monotonic_ns()
        for i in instances { i.stop(now: now) }
        status.shutdown()
        // Give stop hooks a moment to start before we go (they are not waited for).
        for _ in 0..<50 where !notifier.isIdle {
            notifier.reap()
            usleep(10_000)
        }
        return 0
    }

    // MARK: Restart in place

    /// The binary a restart in place runs: the path it was started by (systemd's ExecStart).
    var binaryPath: String? {
        guard let first = arguments.first, first.hasPrefix("/") else { return nil }
        return first
    }

    /// SIGUSR2, step one: the binary now at our path checks the configuration (and that it can
    /// resume: `--check-restart-in-place`, which older builds reject) in a child while
    /// the loop goes on serving (adverts keep flowing); `continueRestartInPlace` looks at it.
    private func beginRestartInPlace(now: UInt64) {
        guard pendingRestart == nil else { return }
        guard let binary = binaryPath else {
            Log.error("restart-in-place-refused", ["reason": "started without an absolute path (argv[0]); restart the service instead"])
            return
        }
        let pid = withCStringArray([binary, "--check-restart-in-place", configPath]) { cvrrp_spawn($0) }
        guard pid > 0 else {
            Log.error("restart-in-place-refused", ["binary": binary, "reason": SystemError("spawn", errno: -pid).description])
            return
        }
        pendingRestart = (pid, now)
    }

    /// Step two, once the check ended: replaces the process image (returns only when it could
    /// not: then the old image goes on as before), or logs why not. nil: keep running.
    private func continueRestartInPlace(now: UInt64) -> Int32? {
        guard let pending = pendingRestart else { return nil }
        var exitStatus: Int32 = 0
        if cvrrp_reap(pending.pid, &exitStatus) != 1 {
            guard now > pending.since, now - pending.since > 5_000_000_000 else { return nil }
            _ = cvrrp_wait_timeout(pending.pid, 0)  // kills it (and what it started) and reaps it
            pendingRestart = nil
            Log.error("restart-in-place-refused", ["binary": binaryPath ?? "", "reason": "--check-restart-in-place did not finish within 5 s"])
            return nil
        }
        pendingRestart = nil
        guard exitStatus == 0, let binary = binaryPath else {
            Log.error("restart-in-place-refused", ["binary": binaryPath ?? "", "reason": "`\(binaryPath ?? "") --check-restart-in-place \(configPath)` exited \(exitStatus) (a build that cannot resume, or a configuration it rejects); still running the old one"])
            return nil
        }
        var handoff = RestartHandoff(at: 0, restarts: restartsInPlace + 1, instances: [:])
        for i in instances { handoff.instances[i.config.name] = i.handoff }
        Log.info("restart-in-place", ["binary": binary, "restarts_in_place": String(handoff.restarts),
                                      "masters": handoff.instances.filter { $0.value.master }.keys.sorted().joined(separator: ",")])
        checkers?.stop()
        checkers = nil
        status.shutdown()
        handoff.at = cvrrp_monotonic_ns()
        setenv(RestartHandoff.environmentName, handoff.encoded(), 1)
        // Every descriptor is close-on-exec; the blocked signals stay blocked until the new image's
        // signalfd takes them.
        let rc = withCStringArray(arguments) { cvrrp_exec(binary, $0) }
        unsetenv(RestartHandoff.environmentName)
        Log.error("restart-in-place-failed", ["binary": binary, "error": SystemError("execv \(binary)", errno: -rc).description])
        // The status server and the checks are gone: leave as a stop does (resigning), and exit 1
        // so that systemd starts the daemon again.
        _ = shutdown(signal: SIGTERM)
        return 1
    }

    /// SIGHUP: instances whose protocol settings are unchanged keep their state (a Master stays
    /// Master); changed ones restart; a bad file changes nothing.
    private func reload(now: UInt64) {
        let text: String
        let newConfig: DaemonConfig
        do {
            text = try readFile(configPath)
            newConfig = try DaemonConfig.parse(text, file: configPath)
            try newConfig.requireTLSRuntime(file: configPath)
        } catch let e as ConfigError {
            Log.error("reload-rejected", ["error": e.description])
            return
        } catch {
            Log.error("reload-rejected", ["error": "\(error)"])
            return
        }
        var next: [Instance] = []
        var kept: [String] = [], restarted: [String] = [], added: [String] = [], removed: [String] = []
        var old = instances
        for c in newConfig.instances {
            if let at = old.firstIndex(where: { $0.config.name == c.name }) {
                let existing = old.remove(at: at)
                if existing.canAdopt(c) {
                    existing.adopt(c, now: now)
                    next.append(existing)
                    kept.append(c.name)
                    continue
                }
                existing.stop(now: now)
                restarted.append(c.name)
            } else {
                added.append(c.name)
            }
            do {
                let fresh = try Instance(config: c, notifier: notifier)
                next.append(fresh)
            } catch {
                Log.error("instance-failed", ["instance": c.name, "error": error.description])
            }
        }
        for gone in old {
            gone.stop(now: now)
            removed.append(gone.config.name)
        }
        let freshNames = Set(restarted + added)
        instances = next
        pollSetIsStale = true
        config.instances = newConfig.instances
        linkSiblings()
        if newConfig.statusSocket != config.statusSocket || newConfig.prometheus != config.prometheus {
            do {
                let replacement = try StatusServer(path: newConfig.statusSocket, prometheus: newConfig.prometheus)
                status.shutdown()
                status = replacement
                pollSetIsStale = true
                config.statusSocket = newConfig.statusSocket
                config.prometheus = newConfig.prometheus
            } catch {
                Log.error("reload-status-socket", ["error": error.description, "kept": config.statusSocket])
            }
        }
        if newConfig.realtimePriority != config.realtimePriority {
            config.realtimePriority = newConfig.realtimePriority
            applyRealtimePriority(newConfig.realtimePriority)  // 0: back to normal scheduling
        }
        restartCheckers()
        for i in instances where freshNames.contains(i.config.name) { i.start(now: cvrrp_monotonic_ns()) }
        _ = cvrrp_unmap_unused_text()  // the configuration parser is not needed until the next reload
        reloads += 1
        Log.info("reload", ["kept": kept.joined(separator: ","), "restarted": restarted.joined(separator: ","),
                            "added": added.joined(separator: ","), "removed": removed.joined(separator: ",")])
    }

    /// The event loop's scheduling: SCHED_RR at `priority`, or SCHED_OTHER for 0.
    private func applyRealtimePriority(_ priority: Int) {
        let rc = cvrrp_realtime(Int32(priority))
        if rc < 0 {
            Log.warning("realtime-unavailable", ["priority": String(priority),
                                                 "error": SystemError("SCHED_RR", errno: -rc).description])
        }
    }

    private func linkSiblings() {
        for i in instances {
            i.siblingVRIDs = Set(instances.filter { $0 !== i && $0.config.interface == i.config.interface }.map(\.config.vrid))
        }
    }

    private func restartCheckers() {
        checkers?.stop()
        checkers = nil
        generation += 1
        let jobs = instances.enumerated().flatMap { n, i in i.checkJobs(instance: n) }
        if jobs.isEmpty { return }
        do {
            checkers = try HealthCheckers(jobs: jobs, generation: generation, mailbox: mailbox)
        } catch {
            Log.error("checkers-failed", ["error": error.description])
        }
    }

    // MARK: Status

    func statusJSON(now: UInt64) -> JSONValue {
        .object([
            field(.daemon, .object([
                field(.config, .string(configPath)),
                field(.uptimeMs, .int(Int64((now - startedAt) / 1_000_000))),
                field(.reloads, .int(Int64(reloads))),
                field(.restartsInPlace, .int(Int64(restartsInPlace))),
            ])),
            field(.instances, .array(instances.map { instanceJSON($0, now: now) })),
        ])
    }

    func instanceJSON(_ i: Instance, now: UInt64) -> JSONValue {
        let r = i.router
        let c = r.counters
        var dropped: [(String, JSONValue)] = c.dropped.map { ($0.key.name, JSONValue.int(Int64($0.value))) }
        dropped += i.localDrops.map { ($0.key, JSONValue.int(Int64($0.value))) }
        dropped.sort { $0.0 < $1.0 }
        let transition: JSONValue = i.lastTransition.map { t in
            .object([field(.from, .string(t.from)), field(.to, .string(t.to)), field(.reason, .string(t.reason)),
                     field(.msAgo, .int(Int64((now - t.at) / 1_000_000)))])
        } ?? .null
        let lastAdvert: JSONValue = i.lastAdvertAt.map { JSONValue.int(Int64((now - min($0, now)) / 1_000_000)) } ?? .null
        // Backup: how long until it takes over if no advert comes.
        var masterDownIn = JSONValue.null
        if r.state == .backup, let deadline = i.timers[.masterDown] {
            masterDownIn = .int(Int64((deadline - min(deadline, now)) / 1_000_000))
        }
        let droppedTotal = Int64(c.droppedTotal) + i.localDrops.values.reduce(Int64(0)) { $0 + Int64($1) }
        let counters: JSONValue = .object([
            field(.advertsSent, .int(Int64(c.advertisementsSent))),
            field(.advertsReceived, .int(Int64(c.advertisementsReceived))),
            field(.priorityZeroSent, .int(Int64(c.priorityZeroSent))),
            field(.priorityZeroReceived, .int(Int64(c.priorityZeroReceived))),
            field(.addressListMismatches, .int(Int64(c.addressListMismatches))),
            field(.transitions, .int(Int64(c.transitions))),
            field(.becameMaster, .int(Int64(c.becameMaster))),
            field(.forcedElections, .int(Int64(c.forcedElections))),
            field(.sendErrors, .int(Int64(i.sendErrors))),
            field(.batchReads, .int(Int64(i.batchReads))),
            field(.resignationWakeups, .int(Int64(i.resignationWakeups))),
            field(.vipErrors, .int(Int64(i.vipErrors))),
            // Gratuitous ARPs for IPv4, unsolicited neighbour advertisements for IPv6.
            field(i.config.family == .ipv4 ? .garpSent : .naSent, .int(Int64(i.garpSent))),
            field(.announceFailures, .int(Int64(i.garpFailures))),
            field(.droppedTotal, .int(droppedTotal)),
            field(.dropped, .object(dropped)),
        ])
        return .object([
            field(.name, .string(i.config.name)),
            field(.interface, .string(i.config.interface)),
            field(.vrid, .int(Int64(i.config.vrid))),
            field(.version, .int(Int64(i.config.version.rawValue))),
            field(.family, .string(i.config.family == .ipv4 ? "ipv4" : "ipv6")),
            field(.state, .string(r.state.rawValue)),
            field(.priority, .int(Int64(i.config.priority))),
            field(.effectivePriority, .int(Int64(r.effectivePriority))),
            field(.tracking, .string(i.tracking.reason)),
            field(.primaryAddress, .string(i.socket.source.description)),
            field(.masterAddress, JSONValue.optional(r.masterAddress?.description)),
            field(.masterPriority, JSONValue.optional(r.masterPriority.map(Int.init))),
            field(.advertIntervalMs, .int(i.config.advertInterval.totalMilliseconds)),
            field(.masterAdvertIntervalMs, .int(Int64(r.masterAdverInterval) * 10)),
            field(.unicastPeers, JSONValue.strings(i.config.unicastPeers.map(\.description))),
            field(.vips, JSONValue.strings(i.config.vips.map(\.description))),
            field(.vipsInstalled, JSONValue.strings(i.config.vips.filter { i.installedVIPs.contains($0.address) }.map(\.description))),
            field(.lastTransition, transition),
            field(.lastAdvertMsAgo, lastAdvert),
            field(.masterDownInMs, masterDownIn),
            field(.checks, .array(i.checks.checks.map { c -> JSONValue in
                .object([field(.name, .string(c.name)), field(.good, .bool(c.isGood)),
                         field(.weight, .int(Int64(c.weight))), field(.detail, .string(c.detail))])
            })),
            field(.trackedInterfaces, .array(i.trackedInterfaces.map { t -> JSONValue in .object([field(.name, .string(t.name)), field(.up, .bool(t.up))]) })),
            field(.counters, counters),
        ])
    }

    /// One member of the status JSON, named by the schema VRRPConfig spells once.
    private func field(_ key: StatusField, _ value: JSONValue) -> (String, JSONValue) { (key.rawValue, value) }

    func prometheusText() -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ type: String, _ rows: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in rows { out += "\(name){\(labels)} \(value)\n" }
        }
        func labels(_ i: Instance) -> String { "instance=\"\(i.config.name)\",vrid=\"\(i.config.vrid)\",interface=\"\(i.config.interface)\"" }
        metric("clusterup_vrrp_state", "1 for the instance's current state", "gauge",
               instances.flatMap { i in VRRPRouter.State.allCases.map { s in
                   ("\(labels(i)),state=\"\(s.rawValue)\"", i.router.state == s ? "1" : "0") } })
        metric("clusterup_vrrp_effective_priority", "Priority after health tracking", "gauge",
               instances.map { (labels($0), String($0.router.effectivePriority)) })
        metric("clusterup_vrrp_adverts_sent_total", "Advertisements sent", "counter",
               instances.map { (labels($0), String($0.router.counters.advertisementsSent)) })
        metric("clusterup_vrrp_adverts_received_total", "Valid advertisements received", "counter",
               instances.map { (labels($0), String($0.router.counters.advertisementsReceived)) })
        metric("clusterup_vrrp_transitions_total", "State transitions", "counter",
               instances.map { (labels($0), String($0.router.counters.transitions)) })
        metric("clusterup_vrrp_dropped_total", "Discarded packets by reason", "counter",
               instances.flatMap { i in
                   i.router.counters.dropped.map { ("\(labels(i)),reason=\"\($0.key.name)\"", String($0.value)) }
                       + i.localDrops.map { ("\(labels(i)),reason=\"\($0.key)\"", String($0.value)) } })
        return out
    }
}

/// Reads a whole file (the daemon has no Foundation).
public func readFile(_ path: String) throws(SystemError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw SystemError("opening \(path)", errno: errno) }
    defer { close(fd) }
    return try readToEnd(fd, what: path)
}

/// Reads until end of file; refuses more than 4 MiB (no configuration or status is that big).
func readToEnd(_ fd: Int32, what: String) throws(SystemError) -> String {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n < 0, errno == EINTR { continue }
        if n < 0 { throw SystemError("reading \(what)", errno: errno) }
        if n == 0 { break }
        out += buf[0..<n]
        if out.count > 4 << 20 { throw SystemError("reading \(what): larger than 4 MiB", errno: EFBIG) }
    }
    return String(decoding: out, as: UTF8.self)
}
