import ClusterupCore
import struct ClusterupCore.Host
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Probes `address:port` from this machine with a TCP connect every `interval`, each with its
/// own `timeout`, on a dedicated thread. Connects overlap (non-blocking sockets, one poll), so the
/// log keeps its resolution while the VIP does not answer: a probe that waited for its timeout
/// before the next one could not tell 5 ms of downtime from 50.
public final class TCPProber: @unchecked Sendable {
    public let address: String
    public let port: Int
    public let interval: Duration
    public let timeout: Duration

    private let lock = NSLock()
    private var samples: [ProbeSample] = []
    private var stopRequested = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private let origin = ContinuousClock.now

    public init(address: String, port: Int, interval: Duration = .milliseconds(2), timeout: Duration = .milliseconds(30)) {
        self.address = address
        self.port = port
        self.interval = interval
        self.timeout = timeout
    }

    /// Time on the prober's clock (the same monotonic clock its samples use).
    public var now: Duration { ContinuousClock.now - origin }

    public func start() throws(ClusterupError) {
        var probe = sockaddr_in()
        guard inet_pton(AF_INET, address, &probe.sin_addr) == 1 else {
            throw ClusterupError.badInput("the prober needs an IPv4 VIP, not '\(address)'", at: "vip.address")
        }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "clusterup-prober"
        thread.qualityOfService = .userInteractive
        self.thread = thread
        thread.start()
    }

    /// Stops probing and returns every sample so far.
    public func stop() -> ProbeLog {
        lock.withLock { stopRequested = true }
        if thread != nil { finished.wait() }
        thread = nil
        return log
    }

    public var log: ProbeLog { lock.withLock { ProbeLog(samples) } }

    private struct InFlight {
        var fd: Int32
        var started: Duration
    }

    private func run() {
        var inFlight: [InFlight] = []
        var nextStart = now
        while !lock.withLock({ stopRequested }) {
            let current = now
            if current >= nextStart {
                if let fd = openConnect() {
                    inFlight.append(InFlight(fd: fd.fd, started: current))
                    if fd.done != nil { settle(&inFlight, index: inFlight.count - 1, ok: fd.done!) }
                } else {
                    record(ProbeSample(at: current, ok: false))
                }
                nextStart += interval
                // After a stall (scheduler, suspended process), resume the cadence instead of bursting.
                if nextStart < current { nextStart = current + interval }
            }
            var fds = inFlight.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            let wait = max(0, (nextStart - now).milliseconds)
            _ = poll(&fds, nfds_t(fds.count), Int32(wait.rounded(.up)))
            let after = now
            var index = inFlight.count - 1
            while index >= 0 {
                if fds[index].revents != 0 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fds[index].fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    settle(&inFlight, index: index, ok: error == 0)
                } else if after - inFlight[index].started >= timeout {
                    settle(&inFlight, index: index, ok: false)
                }
                index -= 1
            }
        }
        for probe in inFlight { closeReset(probe.fd) }
        lock.withLock { samples.sort { $0.at < $1.at } }
    }

    private func settle(_ inFlight: inout [InFlight], index: Int, ok: Bool) {
        let probe = inFlight.remove(at: index)
        closeReset(probe.fd)
        record(ProbeSample(at: probe.started, ok: ok))
    }

    private func record(_ sample: ProbeSample) {
        lock.withLock { samples.append(sample) }
    }

    /// A socket with a connect under way; `done` is set when connect settled at once.
    private func openConnect() -> (fd: Int32, done: Bool?)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = inet_pton(AF_INET, address, &target.sin_addr)
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return (fd, true) }
        if errno == EINPROGRESS { return (fd, nil) }
        return (fd, false)
    }

    /// Close with RST (linger 0): a probe every 2 ms must not fill the port range with TIME_WAIT.
    private func closeReset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}
