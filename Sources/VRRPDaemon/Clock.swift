import VRRPConfig
import CVRRPSys

/// The daemon's monotonic clock, in nanoseconds.
public func monotonicNanoseconds() -> UInt64 { cvrrp_monotonic_ns() }
