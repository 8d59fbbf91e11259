#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <sys/socket.h>

// Unsolicited neighbour advertisements go out on a raw ICMPv6 socket: the kernel fills in the
// IPv6 header and always computes the ICMPv6 checksum for this protocol (RFC 3542 §3.1), and its
// source address selection picks the interface's link-local address for ff02::1.

int cvrrp_na_open(const char *ifname, int ifindex) {
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) return -errno;
    int hops = 255, off = 0, zero = 0;
    // We only send: let no ICMPv6 message queue up on this socket.
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    // RFC 4861 §7.1.2: receivers drop neighbour discovery with a hop limit other than 255.
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0 ||
        setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
    return fd;
}

int cvrrp_na_send(int fd, int ifindex, const void *message, size_t len) {
    struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
    inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);  // all nodes
    ssize_t n = sendto(fd, message, len, 0, (struct sockaddr *)&to, sizeof(to));
    return n < 0 ? -errno : 0;
}
