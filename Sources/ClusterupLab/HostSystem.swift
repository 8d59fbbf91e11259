import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc and /sys, sends signals, probes TCP: the lab's small I/O adapter beside `HostCommands`.
public struct HostSystem: Sendable {
    public init() {}

    public func processStat(of pid: Int32) -> ProcFS.Stat? {
        guard let text = readFile("/proc/\(pid)/stat") else { return nil }
        return ProcFS.parseStat(text)
    }

    public func recorded(_ pid: Int32) -> RecordedProcess? {
        processStat(of: pid).map { RecordedProcess(pid: pid, startTime: $0.startTime) }
    }

    /// Whether the recorded process still runs (same pid AND same start time; zombies count as gone).
    public func isAlive(_ process: RecordedProcess) -> Bool {
        guard let stat = processStat(of: process.pid) else { return false }
        return stat.startTime == process.startTime && stat.state != "Z"
    }

    /// Signals a recorded process, only if it is still the one recorded.
    @discardableResult
    public func signal(_ process: RecordedProcess, _ signal: Int32) -> Bool {
        guard isAlive(process) else { return false }
        return kill(process.pid, signal) == 0
    }

    public func allProcesses() -> [ProcFS.Stat] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.compactMap { processStat(of: $0) }
    }

    public func commandLine(of pid: Int32) -> [String] {
        guard let data = readData("/proc/\(pid)/cmdline") else { return [] }
        return ProcFS.parseCmdline(data)
    }

    /// Device and inode of a process's root directory (follows /proc/PID/root into its mount namespace).
    public func rootIdentity(of pid: Int32) -> FileIdentity? {
        fileIdentity("/proc/\(pid)/root")
    }

    public func fileIdentity(_ path: String) -> FileIdentity? {
        statFollowingLinks(path)
    }

    public func mounts() -> [ProcFS.Mount] {
        guard let text = readFile("/proc/self/mountinfo") else { return [] }
        return ProcFS.parseMountinfo(text)
    }

    /// Host interface names (from /sys/class/net).
    public func links() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
    }

    /// `up` / `down` / ... of a link, or nil when it does not exist.
    public func operationalState(of link: String) -> String? {
        guard let text = readFile("/sys/class/net/\(link)/operstate") else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether the link is administratively up (IFF_UP in /sys/class/net/LINK/flags).
    public func isAdministrativelyUp(_ link: String) -> Bool? {
        guard let text = readFile("/sys/class/net/\(link)/flags"),
              let flags = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16)
        else { return nil }
        return flags & 1 != 0
    }

    /// Reads a whole /proc or /sys file. These report size 0, so read until EOF rather than trusting
    /// the size (a single page of /proc/self/mountinfo misses mounts).
    public func readData(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    public func readFile(_ path: String) -> String? {
        readData(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Removes a directory tree without ever leaving the filesystem it is on: anything on another
    /// device (a mount still in place) is left alone and returned.
    public func removeTree(_ path: String) -> [String] {
        guard let top = fileIdentity(path) else { return [] }
        return removeTree(path, device: top.device)
    }

    private func removeTree(_ path: String, device: UInt64) -> [String] {
        var info = stat()
        guard lstat(path, &info) == 0 else { return [] }
        if UInt64(info.st_dev) != device { return [path] }
        var kept: [String] = []
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                kept += removeTree("\(path)/\(entry)", device: device)
            }
            if kept.isEmpty, rmdir(path) != 0 { kept.append(path) }
        } else if unlink(path) != 0 {
            kept.append(path)
        }
        return kept
    }

    /// Whether an SSH server answers at address:22: connects (bounded by `timeout`) and reads the
    /// identification string (RFC 4253 §4.2), so a socket that merely accepts does not count.
    public func sshAnswers(address: String, port: UInt16 = 22, timeout: Double) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return false }
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 && errno != EINPROGRESS { return false }
        let milliseconds = Int32(timeout * 1000)
        guard wait(fd, for: Int16(POLLOUT), milliseconds: milliseconds) else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return false }
        guard wait(fd, for: Int16(POLLIN), milliseconds: milliseconds) else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        return count >= 4 && buffer.prefix(4).elementsEqual("SSH-".utf8)
    }

    private func wait(_ fd: Int32, for events: Int16, milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        return poll(&entry, 1, milliseconds) == 1 && entry.revents & events != 0
    }
}

public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
}

/// Runs blocking work (Process, sockets, waits) on a dedicated thread, off the cooperative pool.
/// The lab's blocking work (mount, ip, nspawn) off the cooperative pool, through the same
/// mechanisms the rest of clusterup uses: a dedicated thread per call, FanOut for many items.
public enum Blocking {
    public static func run<T: Sendable>(_ name: String = "clusterup-lab", _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await DedicatedThread.run(name: name, body)
    }

    /// Runs `body` for every item on its own thread, at most `width` at a time; returns results in order.
    /// Blocks the calling thread, which must not be on the cooperative pool.
    public static func forEach<Item: Sendable, T: Sendable>(
        _ items: [Item], width: Int = 16, _ body: @escaping @Sendable (Item) throws -> T
    ) -> [Result<T, Error>] {
        FanOut(concurrency: max(1, width)).runBlocking(items, name: { _ in "lab" }) { item, _ in try body(item) }
            .map { $0.outcome }
    }
}

private func statFollowingLinks(_ path: String) -> FileIdentity? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
}
