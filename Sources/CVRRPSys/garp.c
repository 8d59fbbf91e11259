#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <sys/socket.h>

int cvrrp_garp_open(int ifindex) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) return -errno;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                               .sll_ifindex = ifindex };
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    // We only send; keep the receive queue from filling with the LAN's ARP traffic.
    int zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
    return fd;
}

int cvrrp_garp_send(int fd, int ifindex, const uint8_t mac[6], uint32_t ip) {
    uint8_t frame[42];
    memset(frame, 0xff, 6);                 // destination: broadcast
    memcpy(frame + 6, mac, 6);              // source
    frame[12] = 0x08; frame[13] = 0x06;     // EtherType ARP
    uint8_t *arp = frame + 14;
    arp[0] = 0; arp[1] = 1;                 // hardware type Ethernet
    arp[2] = 0x08; arp[3] = 0x00;           // protocol IPv4
    arp[4] = 6; arp[5] = 4;
    arp[6] = 0; arp[7] = 1;                 // request: what keepalived and arping -U send
    memcpy(arp + 8, mac, 6);
    memcpy(arp + 14, &ip, 4);
    memset(arp + 18, 0xff, 6);
    memcpy(arp + 24, &ip, 4);
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                               .sll_ifindex = ifindex, .sll_halen = 6 };
    memset(sll.sll_addr, 0xff, 6);
    ssize_t n = sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll));
    return n < 0 ? -errno : 0;
}
