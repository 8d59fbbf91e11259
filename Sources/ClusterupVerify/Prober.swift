import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Probes a target from this machine every `interval`, each probe with its own `timeout`, on a
/// dedicated thread: non-blocking sockets (and OpenSSL on them) under one `ppoll`, so probes
/// overlap and the log keeps its resolution (the interval) while the target does not answer. A
/// probe that waited for its timeout before the next one could not tell 5 ms of downtime from 50.
public final class Prober: @unchecked Sendable, CustomStringConvertible {
    public let target: ProbeTarget
    public let kind: ProbeKind
    public let interval: Duration
    public let timeout: Duration

    private let lock = NSLock()
    private var timeline: ProbeTimeline
    private var stopRequested = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private let started = DispatchSemaphore(value: 0)
    private var runsRealtime = false
    private let origin = ContinuousClock.now
    private var address = sockaddr_in()
    private var tls: TLSClient?
    private var request: [UInt8] = []

    public init(target: ProbeTarget, kind: ProbeKind, interval: Duration = .milliseconds(2), timeout: Duration = .milliseconds(30)) {
        self.target = target
        self.kind = kind
        self.interval = interval
        self.timeout = timeout
        self.timeline = ProbeTimeline(interval: interval, timeout: timeout)
    }

    /// `tcp 198.51.100.62:8443`, `https://198.51.100.62:8443/readyz`.
    public var description: String {
        switch kind {
        case .tcp: "tcp \(target)"
        case .https(let https): "https://\(target)\(https.path)"
        }
    }

    /// Time on the prober's clock (the same monotonic clock its samples use).
    public var now: Duration { ContinuousClock.now - origin }

    /// Resolves the target, loads the TLS material and starts probing. Blocking (name lookup):
    /// call it from a dedicated thread.
    public func start() throws(ClusterupError) {
        address = try Self.resolve(target)
        if case .https(let https) = kind {
            tls = try TLSClient(https)
            request = HTTPStatusLine.request(path: https.path, host: target.host, port: target.port)
        }
        // A server that resets mid-write must not kill the process (OpenSSL writes with write(2)).
        signal(SIGPIPE, SIG_IGN)
        timeline = ProbeTimeline(interval: interval, timeout: timeout, start: now)
        let thread = Thread { [self] in
            let realtime = Self.preferRealtime()
            lock.withLock { runsRealtime = realtime }
            started.signal()
            run()
            finished.signal()
        }
        thread.name = "clusterup-prober"
        thread.qualityOfService = .userInteractive
        self.thread = thread
        thread.start()
        started.wait()
    }

    /// Whether the probing thread got realtime scheduling (SCHED_RR): on a busy machine a
    /// normal thread waits for a core, and its probes start late and are timestamped late.
    public var realtime: Bool { lock.withLock { runsRealtime } }

    /// SCHED_RR at the lowest realtime priority, when allowed (root or CAP_SYS_NICE). The thread
    /// sleeps in poll between probes; a TLS handshake is its longest busy stretch.
    private static func preferRealtime() -> Bool {
        var parameters = sched_param(sched_priority: 1)
        return pthread_setschedparam(pthread_self(), Int32(SCHED_RR), &parameters) == 0
    }

    /// Stops probing and returns every sample so far.
    public func stop() -> ProbeLog {
        lock.withLock { stopRequested = true }
        if thread != nil { finished.wait() }
        thread = nil
        return log
    }

    public var log: ProbeLog { lock.withLock { ProbeLog(timeline.samples) } }

    /// Why the latest failed probe failed ("HTTP 500", "connect: Connection refused"...).
    public var lastFailure: String? { lock.withLock { timeline.lastFailure } }

    private func run() {
        var sessions: [Int: (session: any ProbeSession, events: Int16)] = [:]
        func handle(_ id: Int, _ session: (any ProbeSession)?, _ step: ProbeStep) {
            switch step {
            case .wait(let events):
                sessions[id] = (session!, events)
            case .done(let outcome):
                sessions[id] = nil
                session?.close()
                lock.withLock { timeline.settle(id, outcome) }
            }
        }
        while !lock.withLock({ stopRequested }) {
            if let id = lock.withLock({ timeline.startIfDue(now: now) }) {
                let (session, step) = open()
                handle(id, session, step)
            }
            for id in lock.withLock({ timeline.expire(now: now) }) {
                sessions.removeValue(forKey: id)?.session.close()
            }
            let ids = Array(sessions.keys)
            var fds = ids.map { pollfd(fd: sessions[$0]!.session.fd, events: sessions[$0]!.events, revents: 0) }
            // Capped so that stop() is seen promptly; rounded up, so a start is at most 1 ms late
            // and the cadence (kept by the timeline) does not drift.
            let wait = min(lock.withLock { timeline.wait(now: now) }, .milliseconds(20))
            _ = poll(&fds, nfds_t(fds.count), Int32(wait.milliseconds.rounded(.up)))
            for (index, id) in ids.enumerated() where fds[index].revents != 0 {
                guard let session = sessions[id]?.session else { continue }
                handle(id, session, session.advance(revents: fds[index].revents))
            }
        }
        // Probes still in flight at the end have no outcome: they are left out of the log.
        sessions.values.forEach { $0.session.close() }
    }

    private func open() -> ((any ProbeSession)?, ProbeStep) {
        let (fd, connect) = SocketConnect.open(address)
        guard fd >= 0 else { return (nil, connect) }
        switch kind {
        case .tcp:
            return (TCPConnectSession(fd: fd), connect)
        case .https:
            let session = HTTPSSession(fd: fd, tls: tls!, request: request, serverName: target.host)
            return (session, session.begin(after: connect))
        }
    }

    /// The target's IPv4 address, looked up once: a probe must measure the VIP, not the resolver.
    static func resolve(_ target: ProbeTarget) throws(ClusterupError) -> sockaddr_in {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        defer { if list != nil { freeaddrinfo(list) } }
        guard status == 0, let first = list, let socketAddress = first.pointee.ai_addr else {
            throw .badInput("cannot resolve the probe target \(target.host) to an IPv4 address: \(String(cString: gai_strerror(status)))",
                            at: "--target", hint: "give an IPv4 address or a name this machine resolves")
        }
        return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
    }
}
