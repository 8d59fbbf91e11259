#ifndef CVRRPSYS_H
#define CVRRPSYS_H
// The few Linux mechanisms Swift cannot reach cleanly (netlink structs, packet sockets, ioctl,
// signalfd, posix_spawn attributes, dlopen of libssl). glibc only. Every function returns a
// negative errno on failure unless stated otherwise.
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <pthread.h>

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), for the daemon's timers.
uint64_t cvrrp_monotonic_ns(void);
/// Wall clock in milliseconds since the epoch, only for log lines.
uint64_t cvrrp_realtime_ms(void);

// ---- interfaces (ioctl) ----
/// Interface index, or -errno.
int cvrrp_ifindex(const char *ifname);
/// Hardware address (6 bytes).
int cvrrp_ifhwaddr(const char *ifname, uint8_t mac[6]);
/// First IPv4 address of the interface, network byte order.
int cvrrp_ifaddr4(const char *ifname, uint32_t *addr);
/// 1 when the interface is administratively up and has carrier (IFF_UP and IFF_RUNNING), 0 if
/// not, -errno on error.
int cvrrp_iflink_up(const char *ifname);

// ---- VRRP raw socket (IP protocol 112) ----
/// Opens a non-blocking raw IPv4 socket for protocol 112 bound to the device, with TTL 255,
/// multicast loop off and IP_HDRINCL (sends carry their own IPv4 header); multicast leaves from
/// `src`'s interface (network order). Multicast mode (`join_multicast` non-zero) joins
/// 224.0.0.18 on the interface; unicast mode binds to `src`.
int cvrrp_vrrp_open(const char *ifname, int ifindex, uint32_t src, int join_multicast);
/// Sends one IPv4 packet carrying a VRRP message, header included, to `dst` (network order).
int cvrrp_vrrp_send(int fd, uint32_t dst, const void *buf, size_t len);
/// Receives one datagram including its IPv4 header; returns its length, 0 when none is pending.
int cvrrp_vrrp_recv(int fd, void *buf, size_t cap);

/// IPv6 (RFC 5798 §5.1.2): a raw AF_INET6 socket for protocol 112 bound to the device, hop
/// limit 255 for unicast and multicast, no multicast loop, hop limit and destination delivered as
/// ancillary data. Multicast mode joins ff02::12 on ifindex; unicast mode binds to `src`.
int cvrrp_vrrp6_open(const char *ifname, int ifindex, const uint8_t src[16], int join_multicast);
/// Sends one VRRP message (checksum already set) from `src` to `dst` out of ifindex.
int cvrrp_vrrp6_send(int fd, int ifindex, const uint8_t src[16], const uint8_t dst[16],
                     const void *buf, size_t len);
/// Receives one VRRP message (no IP header, which IPv6 raw sockets do not deliver) with its
/// source, destination and hop limit (-1 when the kernel gave none); returns its length, 0 when
/// none is pending.
int cvrrp_vrrp6_recv(int fd, void *buf, size_t cap, uint8_t src[16], uint8_t dst[16], int *hop_limit);

/// A Backup's batched intake: kernel arrival stamps on a VRRP socket; a filter that lets in only
/// adverts of priority 0 for one VRID (the socket that wakes a Backup at once); up to `count` pending
/// datagrams read in one call, each into its own `cap_each` bytes of `buffers`, with its arrival
/// on the monotonic clock (0 if unstamped) and, over IPv6, source, destination and hop limit.
/// Returns how many (0 if none), or -errno.
#define CVRRP_BATCH_MAX 16
/// `stamp_ns` is the kernel's own stamp (realtime clock), the same on every socket that got the
/// datagram: what tells two copies of one datagram apart from two datagrams.
typedef struct { int length; int hop_limit; uint64_t arrived_ns; uint64_t stamp_ns; uint8_t src[16]; uint8_t dst[16]; } cvrrp_datagram;
int cvrrp_vrrp_timestamps(int fd);
int cvrrp_vrrp_priority_zero_filter(int fd, int ipv6, uint8_t vrid);
int cvrrp_vrrp_recv_batch(int fd, int ipv6, uint8_t *buffers, size_t cap_each, int count, cvrrp_datagram *out);

// ---- rtnetlink: addresses and link events ----
/// Adds (add != 0) or removes an address on ifindex and waits for the kernel's ack.
/// `family` is 2 (AF_INET) or 10 (AF_INET6); `addr` holds 4 or 16 bytes. Adding an address
/// already present and removing one already absent both succeed (return 0).
int cvrrp_nl_addr(int add, int ifindex, int family, const uint8_t *addr, int prefixlen);
/// 1 when the address is configured on ifindex, 0 when not.
int cvrrp_nl_has_addr(int ifindex, int family, const uint8_t *addr);
/// The IPv6 addresses of ifindex (16 bytes each into `addrs`) with their IFA_F_* flags; returns
/// how many (at most cap).
int cvrrp_nl_addrs6(int ifindex, uint8_t *addrs, uint32_t *flags, int cap);
/// Opens a non-blocking netlink socket subscribed to RTNLGRP_LINK and RTNLGRP_IPV6_IFADDR.
int cvrrp_nl_link_open(void);
/// A link going up or down, or (ipv6_address != 0) an IPv6 address of ifindex added, removed or
/// changed (e.g. done with duplicate address detection); `up` is then 0 and means nothing.
typedef struct { int ifindex; int up; int ipv6_address; } cvrrp_link_event;
/// Reads pending link and IPv6 address messages into `events`; returns how many (0 when none).
int cvrrp_nl_link_read(int fd, cvrrp_link_event *events, int cap);

// ---- gratuitous ARP (AF_PACKET) ----
/// Opens a packet socket for ARP frames bound to ifindex.
int cvrrp_garp_open(int ifindex);
/// Broadcasts one gratuitous ARP request announcing `ip` (network order) at `mac`.
int cvrrp_garp_send(int fd, int ifindex, const uint8_t mac[6], uint32_t ip);

// ---- unsolicited neighbour advertisements (raw ICMPv6) ----
/// Opens a send-only raw ICMPv6 socket on the interface with hop limit 255.
int cvrrp_na_open(const char *ifname, int ifindex);
/// Sends one ICMPv6 message (checksum left to the kernel) to ff02::1 out of ifindex.
int cvrrp_na_send(int fd, int ifindex, const void *message, size_t len);

// ---- local sockets ----
/// Listening unix stream socket at path (removes a stale socket file first), mode 0600.
int cvrrp_unix_listen(const char *path);
/// Connected unix stream socket to path.
int cvrrp_unix_connect(const char *path);
/// Listening TCP socket on addr:port (network order addr), non-blocking.
int cvrrp_tcp_listen(uint32_t addr, uint16_t port);
/// Accepts one connection (non-blocking listener), returns fd or -errno.
int cvrrp_accept(int fd);
/// pipe2 with O_CLOEXEC (and O_NONBLOCK on both ends when nonblock != 0).
int cvrrp_pipe(int fds[2], int nonblock);
struct pollfd;
/// poll() with a nanosecond timeout (ppoll); negative timeout waits forever.
int cvrrp_poll_ns(struct pollfd *fds, unsigned long n, int64_t timeout_ns);
/// The event loop's epoll set: create it, add a descriptor (readable) with a tag.
int cvrrp_epoll_create(void);
int cvrrp_epoll_add(int ep, int fd, uint32_t tag);
/// Turns readiness reports of a descriptor already in the set on or off.
int cvrrp_epoll_enable(int ep, int fd, uint32_t tag, int enabled);
/// Waits up to timeout_ns (negative: forever) with nanosecond precision (epoll_pwait2; before
/// Linux 5.11, milliseconds rounded up). Writes the tags of ready descriptors (at most cap, up
/// to 32) and returns how many, 0 on timeout, -errno on error.
int cvrrp_epoll_wait_ns(int ep, uint32_t *tags, int cap, int64_t timeout_ns);
/// Sets O_NONBLOCK and FD_CLOEXEC.
int cvrrp_set_nonblock(int fd);

// ---- health checks (run on checker threads; may block up to timeout_ms) ----
/// Connects to addr:port within timeout. Returns 0 on success.
int cvrrp_tcp_check(uint32_t addr, uint16_t port, int timeout_ms);
/// Sends `request` over plain TCP or TLS (tls != 0) and reads the HTTP status code of the reply
/// within timeout. Returns the status code (> 0), or -errno; -ENOPKG when TLS is asked for and
/// libssl.so.3 cannot be loaded.
int cvrrp_http_check(uint32_t addr, uint16_t port, int tls, const char *sni,
                     const char *request, int timeout_ms);
/// 1 when libssl.so.3 can be loaded at run time.
int cvrrp_tls_available(void);

// ---- processes and signals ----
/// Replaces the process image (a restart in place), keeping the signal mask; returns -errno
/// only when it could not.
int cvrrp_exec(const char *path, const char *const argv[]);
/// Starts `/bin/sh -c command` (or argv when argv != NULL) with default signal mask and handlers,
/// stdin from /dev/null. Returns the pid, or -errno.
pid_t cvrrp_spawn(const char *const argv[]);
/// Waits up to timeout_ms for pid; on timeout kills it (SIGKILL) and returns -ETIMEDOUT,
/// else its exit status (0..255, or 128+signal).
int cvrrp_wait_timeout(pid_t pid, int timeout_ms);
/// Non-blocking reap: returns 1 when pid has exited (status in *status), 0 if still running.
int cvrrp_reap(pid_t pid, int *status);
/// Blocks SIGTERM, SIGINT, SIGHUP, SIGPIPE in the calling thread (call before starting threads)
/// and returns a non-blocking signalfd for the first three.
int cvrrp_signalfd(void);
/// Whether the effective capability set holds CAP_NET_RAW and CAP_NET_ADMIN (all the daemon
/// needs besides CAP_SYS_NICE for realtime scheduling): 1, 0, or -errno.
int cvrrp_has_network_capabilities(void);
/// Puts the calling thread under SCHED_RR at `priority` (1..99): adverts every 10 ms must not
/// wait behind busy processes, or backups see the Master as dead. 0: back to SCHED_OTHER.
int cvrrp_realtime(int priority);
/// One malloc arena for the whole process (M_ARENA_MAX 1): check threads allocate little and
/// rarely, and each extra arena would keep its own heap resident.
void cvrrp_single_malloc_arena(void);
/// Drops our executable's code pages from our page tables (MADV_DONTNEED on its r-x mapping;
/// the pages stay in the page cache): start-up touched most of the static binary (configuration
/// parsing, the Swift runtime's set-up), and the event loop maps back, from the cache, only
/// what it runs. Returns how many mappings were advised, or -errno.
int cvrrp_unmap_unused_text(void);
/// Makes threads created with `attr` run under SCHED_OTHER whatever their creator runs under.
int cvrrp_thread_normal_attr(pthread_attr_t *attr);
/// Reads one signal number from the signalfd, 0 when none.
int cvrrp_signalfd_read(int fd);
#endif
