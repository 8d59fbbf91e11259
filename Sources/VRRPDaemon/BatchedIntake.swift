/// Which datagrams a batching Backup hands to its router, and as of when. A Backup reads its
/// socket in batches instead of waking for every advert: nothing it does on an advert is due
/// before its Master_Down deadline (RFC 5798 §6.4.2 only resets that timer), and each advert is
/// handled as of its arrival, which the kernel stamps, so the timer lands where it would have.
/// Adverts of priority 0 also come in on a wake socket (so a resignation wakes the Backup at
/// once), and both copies of a datagram carry the same stamp: each is handled once, from
/// whichever socket is read first. Pure: stamps in, verdicts out; the instance reads the sockets.
struct BatchedIntake {
    /// The stamps of what the last drain of the main socket read.
    private(set) var drained: [UInt64] = []
    /// Resignations handled from the wake socket before the main socket had them, the latest
    /// `wakeMemory` (their copies on the main socket are skipped when a drain reads them).
    private(set) var handledFromWake: [UInt64] = []
    static let wakeMemory = 16

    /// A drain of the main socket begins: it forgets what the previous one read.
    mutating func startDrain() { drained.removeAll(keepingCapacity: true) }

    /// A datagram the drain read: false when its copy came in through the wake socket and was
    /// handled then. A stamp of 0 (none) is never taken for a copy.
    mutating func admitFromMain(stamp: UInt64) -> Bool {
        if stamp != 0, let seen = handledFromWake.firstIndex(of: stamp) {
            handledFromWake.remove(at: seen)
            return false
        }
        drained.append(stamp)
        return true
    }

    /// A priority-0 advert from the wake socket: false when the last drain already read its copy.
    mutating func admitFromWake(stamp: UInt64) -> Bool {
        if stamp != 0, drained.contains(stamp) { return false }
        handledFromWake.append(stamp)
        if handledFromWake.count > Self.wakeMemory { handledFromWake.removeFirst() }
        return true
    }

    /// The instant a datagram is handled as of: its arrival, never later than now (0: not stamped).
    static func handledAt(arrival: UInt64, now: UInt64) -> UInt64 {
        arrival == 0 ? now : min(arrival, now)
    }
}
