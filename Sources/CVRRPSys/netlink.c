#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <net/if.h>

static int nl_open(unsigned groups, int nonblock) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                    NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void add_attr(struct nlmsghdr *n, int type, const void *data, int len) {
    struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
    rta->rta_type = (unsigned short)type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, (size_t)len);
    n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

// Waits for the kernel's answer to seq; returns 0 for a positive ack, else -errno from it.
static int nl_wait_ack(int fd, uint32_t seq) {
    char buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *err = NLMSG_DATA(h);
                return err->error;  // 0 is the ack, negative errno otherwise
            }
        }
    }
}

int cvrrp_nl_addr(int add, int ifindex, int family, const uint8_t *addr, int prefixlen) {
    int fd = nl_open(0, 0);
    if (fd < 0) return fd;
    struct { struct nlmsghdr n; struct ifaddrmsg ifa; char attrs[128]; } req;
    memset(&req, 0, sizeof(req));
    static uint32_t next_seq = 1;
    uint32_t seq = __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED);
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.n.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    req.n.nlmsg_seq = seq;
    req.ifa.ifa_family = (unsigned char)family;
    req.ifa.ifa_prefixlen = (unsigned char)prefixlen;
    req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    req.ifa.ifa_index = (unsigned)ifindex;
    // A VIP must be usable at once after takeover, without waiting for DAD.
    if (family == AF_INET6) req.ifa.ifa_flags = IFA_F_NODAD;
    int alen = family == AF_INET6 ? 16 : 4;
    add_attr(&req.n, IFA_LOCAL, addr, alen);
    add_attr(&req.n, IFA_ADDRESS, addr, alen);
    int rc;
    if (send(fd, &req, req.n.nlmsg_len, 0) < 0) rc = -errno;
    else rc = nl_wait_ack(fd, seq);
    close(fd);
    if (add && rc == -EEXIST) return 0;
    if (!add && rc == -EADDRNOTAVAIL) return 0;
    return rc;
}

// Dumps the addresses of one family (RTM_GETADDR) and calls visit for each one on ifindex, with its
// attributes; visit returns non-zero to stop. Returns 0, or -errno when the dump failed.
typedef int (*addr_visitor)(struct ifaddrmsg *ifa, struct rtattr *attrs, int len, void *ctx);

static int nl_each_addr(int family, int ifindex, addr_visitor visit, void *ctx) {
    int fd = nl_open(0, 0);
    if (fd < 0) return fd;
    struct { struct nlmsghdr n; struct ifaddrmsg ifa; } req;
    memset(&req, 0, sizeof(req));
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.n.nlmsg_type = RTM_GETADDR;
    req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.n.nlmsg_seq = 1;
    req.ifa.ifa_family = (unsigned char)family;
    if (send(fd, &req, req.n.nlmsg_len, 0) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = 0, done = 0, stopped = 0;
    char buf[16384];
    while (!done) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = -errno;
            break;
        }
        // After visit asks to stop, keep reading until NLMSG_DONE so the dump is drained.
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) { done = 1; break; }
            if (h->nlmsg_type != RTM_NEWADDR || stopped) continue;
            struct ifaddrmsg *ifa = NLMSG_DATA(h);
            if ((int)ifa->ifa_index != ifindex || ifa->ifa_family != family) continue;
            stopped = visit(ifa, IFA_RTA(ifa), (int)IFA_PAYLOAD(h), ctx);
        }
    }
    close(fd);
    return rc;
}

struct has_addr_ctx { const uint8_t *addr; int alen; int found; };

static int has_addr_visit(struct ifaddrmsg *ifa, struct rtattr *rta, int len, void *ctx) {
    (void)ifa;
    struct has_addr_ctx *c = ctx;
    for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if ((rta->rta_type == IFA_LOCAL || rta->rta_type == IFA_ADDRESS) &&
            memcmp(RTA_DATA(rta), c->addr, (size_t)c->alen) == 0)
            c->found = 1;
    }
    return c->found;
}

int cvrrp_nl_has_addr(int ifindex, int family, const uint8_t *addr) {
    struct has_addr_ctx c = { addr, family == AF_INET6 ? 16 : 4, 0 };
    int rc = nl_each_addr(family, ifindex, has_addr_visit, &c);
    return rc < 0 ? rc : c.found;
}

// IPv6 address events too: an IPv6 instance's source (its link-local address) is unusable while
// tentative, e.g. for a second after the link comes back.
int cvrrp_nl_link_open(void) { return nl_open(RTMGRP_LINK | RTMGRP_IPV6_IFADDR, 1); }

int cvrrp_nl_link_read(int fd, cvrrp_link_event *events, int cap) {
    char buf[16384];
    int count = 0;
    while (count < cap) {
        struct sockaddr_nl from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            // ENOBUFS: we missed events; the caller re-reads link state with ioctl.
            return count > 0 ? count : -errno;
        }
        // Only the kernel (port id 0) speaks for links; a local process could otherwise send
        // forged RTM_NEWLINK messages to our multicast group and make us fault or recover.
        if (fromlen != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0) continue;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n) && count < cap;
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
                struct ifaddrmsg *ifa = NLMSG_DATA(h);
                if (ifa->ifa_family != AF_INET6) continue;
                events[count].ifindex = (int)ifa->ifa_index;
                events[count].up = 0;
                events[count].ipv6_address = 1;
                count++;
                continue;
            }
            if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            events[count].ifindex = ifi->ifi_index;
            events[count].up = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
                               (ifi->ifi_flags & IFF_RUNNING);
            events[count].ipv6_address = 0;
            count++;
        }
    }
    return count;
}

struct addrs6_ctx { uint8_t *addrs; uint32_t *flags; int cap; int count; };

static int addrs6_visit(struct ifaddrmsg *ifa, struct rtattr *rta, int len, void *ctx) {
    struct addrs6_ctx *c = ctx;
    uint32_t f = ifa->ifa_flags;
    const void *address = NULL;
    for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == 16) address = RTA_DATA(rta);
        if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) == 4) memcpy(&f, RTA_DATA(rta), 4);
    }
    if (address) {
        memcpy(c->addrs + 16 * c->count, address, 16);
        c->flags[c->count++] = f;
    }
    return c->count >= c->cap;
}

int cvrrp_nl_addrs6(int ifindex, uint8_t *addrs, uint32_t *flags, int cap) {
    if (cap <= 0) return 0;
    struct addrs6_ctx c = { addrs, flags, cap, 0 };
    int rc = nl_each_addr(AF_INET6, ifindex, addrs6_visit, &c);
    return rc < 0 ? rc : c.count;
}
