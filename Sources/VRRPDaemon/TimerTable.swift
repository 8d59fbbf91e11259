import VRRP

/// The router's timer deadlines (monotonic ns), one slot per kind: no hashing per advert.
struct TimerTable {
    private var adver: UInt64?
    private var masterDown: UInt64?
    private var preemptDelay: UInt64?

    subscript(kind: VRRPRouter.TimerKind) -> UInt64? {
        get {
            switch kind {
            case .adver: adver
            case .masterDown: masterDown
            case .preemptDelay: preemptDelay
            }
        }
        set {
            switch kind {
            case .adver: adver = newValue
            case .masterDown: masterDown = newValue
            case .preemptDelay: preemptDelay = newValue
            }
        }
    }

    var earliest: UInt64? { VRRPDaemon.earliest(VRRPDaemon.earliest(adver, masterDown), preemptDelay) }
}

/// The earlier of two optional deadlines.
func earliest(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}
