#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int ifreq_ioctl(const char *ifname, unsigned long request, struct ifreq *ifr, int family) {
    if (strlen(ifname) >= IFNAMSIZ) return -ENAMETOOLONG;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    memset(ifr, 0, sizeof(*ifr));
    strncpy(ifr->ifr_name, ifname, IFNAMSIZ - 1);
    int rc = ioctl(fd, request, ifr) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int cvrrp_ifindex(const char *ifname) {
    unsigned idx = if_nametoindex(ifname);
    return idx == 0 ? -errno : (int)idx;
}

int cvrrp_ifhwaddr(const char *ifname, uint8_t mac[6]) {
    struct ifreq ifr;
    int rc = ifreq_ioctl(ifname, SIOCGIFHWADDR, &ifr, AF_INET);
    if (rc < 0) return rc;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

int cvrrp_ifaddr4(const char *ifname, uint32_t *addr) {
    struct ifreq ifr;
    int rc = ifreq_ioctl(ifname, SIOCGIFADDR, &ifr, AF_INET);
    if (rc < 0) return rc;
    *addr = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
    return 0;
}

int cvrrp_iflink_up(const char *ifname) {
    struct ifreq ifr;
    int rc = ifreq_ioctl(ifname, SIOCGIFFLAGS, &ifr, AF_INET);
    if (rc < 0) return rc;
    return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING) ? 1 : 0;
}
