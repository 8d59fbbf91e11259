#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#define IPPROTO_VRRP 112
#define VRRP_GROUP "224.0.0.18"
#define VRRP_GROUP6 "ff02::12"

int cvrrp_vrrp_open(const char *ifname, int ifindex, uint32_t src, int join_multicast) {
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_VRRP);
    if (fd < 0) return -errno;
    int ttl = 255, off = 0, on = 1;
    struct ip_mreqn mreq, mcif;
    memset(&mreq, 0, sizeof(mreq));
    mreq.imr_ifindex = ifindex;
    inet_pton(AF_INET, VRRP_GROUP, &mreq.imr_multiaddr);
    // The multicast interface's address is the source the kernel puts on multicast sends,
    // which the v3 pseudo-header checksum covers.
    mcif = mreq;
    mcif.imr_address.s_addr = src;
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof(off)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mcif, sizeof(mcif)) < 0 ||
        // We send whole packets, header included, encoded once per advert change (as keepalived
        // does): the kernel then skips building the header on every send.
        setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) < 0)
        goto fail;
    if (src != 0 && !join_multicast) {
        // Unicast: binding fixes the source address and only lets in packets sent to it. (Bound
        // sockets would not see 224.0.0.18, hence not in multicast mode.)
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = src };
        if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) goto fail;
    }
    if (join_multicast && setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
        goto fail;
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

int cvrrp_vrrp_send(int fd, uint32_t dst, const void *buf, size_t len) {
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = dst };
    ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin));
    return n < 0 ? -errno : (int)n;
}

int cvrrp_vrrp_recv(int fd, void *buf, size_t cap) {
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    return (int)n;
}

// ---- IPv6 ----
// The VRRP checksum is computed by the codec, not by the kernel (no IPV6_CHECKSUM): with
// IPV6_CHECKSUM set the kernel would also verify received checksums and drop bad ones silently,
// while RFC 5798 §7.1 wants them counted as for IPv4. The codec's pseudo-header uses the source
// we pin on every send (IPV6_PKTINFO), so the two cannot differ.

int cvrrp_vrrp6_open(const char *ifname, int ifindex, const uint8_t src[16], int join_multicast) {
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_VRRP);
    if (fd < 0) return -errno;
    int hops = 255, off = 0, on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0 ||
        // The IPv6 header is not delivered with the data: hop limit and destination come as
        // ancillary data, for the receive checks.
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0)
        goto fail;
    if (!join_multicast) {
        // Unicast: as for IPv4, binding fixes the source and lets in only packets sent to it.
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
        memcpy(&sin6.sin6_addr, src, 16);
        if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) goto fail;
    } else {
        struct ipv6_mreq mreq = { .ipv6mr_interface = (unsigned)ifindex };
        inet_pton(AF_INET6, VRRP_GROUP6, &mreq.ipv6mr_multiaddr);
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) goto fail;
    }
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

int cvrrp_vrrp6_send(int fd, int ifindex, const uint8_t src[16], const uint8_t dst[16],
                     const void *buf, size_t len) {
    struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
    memcpy(&to.sin6_addr, dst, 16);
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    // The source the checksum was computed for: the link-local address (RFC 5798 §5.1.2.1).
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo info = { .ipi6_ifindex = (unsigned)ifindex };
    memcpy(&info.ipi6_addr, src, 16);
    memcpy(CMSG_DATA(c), &info, sizeof(info));
    ssize_t n = sendmsg(fd, &msg, 0);
    return n < 0 ? -errno : (int)n;
}

int cvrrp_vrrp6_recv(int fd, void *buf, size_t cap, uint8_t src[16], uint8_t dst[16], int *hop_limit) {
    struct sockaddr_in6 from;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    // Room for the arrival stamp too (SO_TIMESTAMPNS is on for a Backup's batches): without it
    // the hop limit would be cut off.
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    memcpy(src, &from.sin6_addr, 16);
    memset(dst, 0, 16);
    *hop_limit = -1;  // absent: the receive checks reject it
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != IPPROTO_IPV6) continue;
        if (c->cmsg_type == IPV6_HOPLIMIT) {
            memcpy(hop_limit, CMSG_DATA(c), sizeof(int));
        } else if (c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof(info));
            memcpy(dst, &info.ipi6_addr, 16);
        }
    }
    return (int)n;
}

// ---- A Backup's batched intake ----
// A Backup reads its adverts in batches at its Master_Down deadline instead of waking for each
// one: the kernel stamps every datagram when it arrives (SO_TIMESTAMPNS), so each advert is
// handled as of its arrival whatever the wake-up. A second socket on the same interface, with a
// socket filter that lets in only adverts of priority 0, wakes it at once for a Master's
// resignation (RFC 5798 §6.4.2: Master_Down_Timer = Skew_Time).

#include <linux/filter.h>
#include <time.h>

int cvrrp_vrrp_timestamps(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0 ? -errno : 0;
}

int cvrrp_vrrp_priority_zero_filter(int fd, int ipv6, uint8_t vrid) {
    // X = where the VRRP message starts: after the IP header on IPv4 raw sockets (its length from
    // IHL), at 0 on IPv6 ones, which see the message alone. VRID is its second octet, priority
    // its third.
    struct sock_filter code[] = {
        ipv6 ? (struct sock_filter)BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 0) : (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 1),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, vrid, 0, 3),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

int cvrrp_vrrp_recv_batch(int fd, int ipv6, uint8_t *buffers, size_t cap_each, int count, cvrrp_datagram *out) {
    if (count > CVRRP_BATCH_MAX) count = CVRRP_BATCH_MAX;
    struct mmsghdr msgs[CVRRP_BATCH_MAX];
    struct iovec iov[CVRRP_BATCH_MAX];
    struct sockaddr_in6 from[CVRRP_BATCH_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control[CVRRP_BATCH_MAX];
    for (int i = 0; i < count; i++) {
        iov[i] = (struct iovec){ .iov_base = buffers + (size_t)i * cap_each, .iov_len = cap_each };
        msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]), .msg_iov = &iov[i],
                                           .msg_iovlen = 1, .msg_control = control[i].buf,
                                           .msg_controllen = sizeof(control[i].buf) };
        msgs[i].msg_len = 0;
    }
    int n = recvmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    // Arrival stamps are on the realtime clock; the loop runs on the monotonic one. Both are read
    // now, so a stamp maps to within the few microseconds between the two reads.
    struct timespec rt, mono;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t rt_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    int64_t mono_ns = (int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec;
    for (int i = 0; i < n; i++) {
        cvrrp_datagram *d = &out[i];
        d->length = (int)msgs[i].msg_len;
        d->arrived_ns = 0;  // no stamp: the caller uses its own clock
        d->stamp_ns = 0;
        d->hop_limit = -1;
        memset(d->src, 0, 16);
        memset(d->dst, 0, 16);
        if (ipv6) memcpy(d->src, &from[i].sin6_addr, 16);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                int64_t stamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
                d->stamp_ns = (uint64_t)stamp;
                int64_t age = rt_ns - stamp;
                if (age < 0) age = 0;  // the realtime clock stepped back: call it now
                if (age <= mono_ns) d->arrived_ns = (uint64_t)(mono_ns - age);
            } else if (ipv6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
                memcpy(&d->hop_limit, CMSG_DATA(c), sizeof(int));
            } else if (ipv6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                memcpy(d->dst, &info.ipi6_addr, 16);
            }
        }
    }
    return n;
}
