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

int cvrrp_vrrp_open(const char *ifname, int ifindex, uint32_t src, int join_multicast) {
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_VRRP);
    if (fd < 0) return -errno;
    int ttl = 255, off = 0;
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
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mcif, sizeof(mcif)) < 0)
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
