import VRRPConfig
import VRRP
import TextFormats
import CVRRPSys
import Glibc

/// A check to run on a checker thread. Results go to the event loop through a `Mailbox`.
struct CheckJob: Sendable {
    enum Kind: Sendable {
        case script(ScriptCheck)
        case http(HTTPCheck)
        case tcp(TCPCheck)
    }
    var instance: Int
    var index: Int
    var name: String
    var kind: Kind
    var timing: CheckTiming

    /// Runs the check once (blocking up to its timeout); returns success and a detail for logs.
    func run() -> (ok: Bool, detail: String) {
        let timeoutMS = Int32(clamping: max(10, timing.timeout.totalMilliseconds))
        switch kind {
        case .script(let s):
            let pid = withCStringArray(["/bin/sh", "-c", s.command]) { cvrrp_spawn($0) }
            if pid < 0 { return (false, "cannot start: \(SystemError("spawn", errno: -pid))") }
            let status = cvrrp_wait_timeout(pid, timeoutMS)
            if status == -ETIMEDOUT { return (false, "timed out after \(timing.timeout)") }
            return (status == 0, "exit status \(status)")
        case .tcp(let t):
            let rc = cvrrp_tcp_check(t.target.address.networkOrder, t.target.port, timeoutMS)
            return rc == 0 ? (true, "connected") : (false, "\(SystemError("connect \(t.target)", errno: -rc))")
        case .http(let h):
            let request = "GET \(h.path) HTTP/1.1\r\nHost: \(h.host)\r\nUser-Agent: clusterup-vrrpd\r\nConnection: close\r\n\r\n"
            let sni = h.host.split(separator: ":").first.map(String.init) ?? ""
            let rc = cvrrp_http_check(h.target.address.networkOrder, h.target.port, h.tls ? 1 : 0, sni, request, timeoutMS)
            if rc < 0 { return (false, "\(SystemError("GET \(h.url)", errno: -rc))") }
            return (Int(rc) == h.expectStatus, "status \(rc)")
        }
    }
}

func withCStringArray<R>(_ args: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = args.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Results from checker threads to the event loop; a pipe wakes the loop's poll().
final class Mailbox: @unchecked Sendable {
    struct Result: Sendable {
        var generation: Int
        var instance: Int
        var index: Int
        var ok: Bool
        var detail: String
    }

    let wakeFD: Int32
    private let writeFD: Int32
    private var mutex = pthread_mutex_t()
    private var pending: [Result] = []

    init() throws(SystemError) {
        var fds: [Int32] = [0, 0]
        _ = try SystemError.check(cvrrp_pipe(&fds, 1), "creating the wake pipe")
        wakeFD = fds[0]
        writeFD = fds[1]
        pthread_mutex_init(&mutex, nil)
    }

    func post(_ result: Result) {
        pthread_mutex_lock(&mutex)
        pending.append(result)
        pthread_mutex_unlock(&mutex)
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    func drain() -> [Result] {
        var sink = [UInt8](repeating: 0, count: 256)
        while read(wakeFD, &sink, sink.count) > 0 {}
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let out = pending
        pending.removeAll()
        return out
    }
}

/// One thread per check, each sleeping its interval between runs. `stop()` wakes and ends them
/// (their last result is discarded by generation); a check blocked in its run finishes within
/// its timeout.
final class HealthCheckers: @unchecked Sendable {
    let generation: Int
    private let stopRead: StopPipeEnd
    private var stopWrite: Int32

    init(jobs: [CheckJob], generation: Int, mailbox: Mailbox) throws(SystemError) {
        var fds: [Int32] = [0, 0]
        _ = try SystemError.check(cvrrp_pipe(&fds, 0), "creating the checker stop pipe")
        stopRead = StopPipeEnd(fd: fds[0])
        stopWrite = fds[1]
        self.generation = generation
        for job in jobs {
            let context = CheckerThread(job: job, generation: generation, mailbox: mailbox, stopFD: stopRead)
            var thread = pthread_t()
            var attr = pthread_attr_t()
            pthread_attr_init(&attr)
            pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
            pthread_attr_setstacksize(&attr, 256 * 1024)
            // Checks are ordinary work: they must not inherit the event loop's real-time priority.
            _ = cvrrp_thread_normal_attr(&attr)
            let rc = pthread_create(&thread, &attr, { raw in
                let context = Unmanaged<CheckerThread>.fromOpaque(raw!).takeRetainedValue()
                context.loop()
                return nil
            }, Unmanaged.passRetained(context).toOpaque())
            pthread_attr_destroy(&attr)
            if rc != 0 { throw SystemError("starting a checker thread", errno: rc) }
        }
    }

    /// Ends the threads: they see the pipe's hang-up. The read end closes when the last thread
    /// lets go of it.
    func stop() {
        if stopWrite >= 0 {
            close(stopWrite)
            stopWrite = -1
        }
    }

    deinit { stop() }
}

private final class CheckerThread: @unchecked Sendable {
    let job: CheckJob
    let generation: Int
    let mailbox: Mailbox
    let stop: StopPipeEnd
    var stopFD: Int32 { stop.fd }

    init(job: CheckJob, generation: Int, mailbox: Mailbox, stopFD: StopPipeEnd) {
        self.job = job
        self.generation = generation
        self.mailbox = mailbox
        self.stop = stopFD
    }

    func loop() {
        while true {
            let started = cvrrp_monotonic_ns()
            let (ok, detail) = job.run()
            if stopped(waitMS: 0) { return }
            mailbox.post(.init(generation: generation, instance: job.instance, index: job.index, ok: ok, detail: detail))
            let elapsedMS = Int64((cvrrp_monotonic_ns() - started) / 1_000_000)
            if stopped(waitMS: Int32(clamping: max(0, job.timing.interval.totalMilliseconds - elapsedMS))) { return }
        }
    }

    /// Waits up to waitMS; true when the stop pipe hung up.
    func stopped(waitMS: Int32) -> Bool {
        var p = pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = poll(&p, 1, waitMS)
            if rc < 0, errno == EINTR { continue }
            return rc > 0
        }
    }
}

/// The read end of a stop pipe, shared by a generation's threads and closed after the last.
final class StopPipeEnd: @unchecked Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}
