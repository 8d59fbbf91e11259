#ifndef CVRRPSYS_H
#define CVRRPSYS_H
#include <stdint.h>
/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), for the daemon's timers.
uint64_t cvrrp_monotonic_ns(void);
#endif
