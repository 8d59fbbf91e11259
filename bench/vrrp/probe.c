// Client-observed downtime probe for the VIP benchmark.
//   probe echo PORT                        answer every UDP datagram (runs on each router)
//   probe send ADDR PORT SECONDS [GAP_US]  send a datagram every GAP_US (default 1000) for
//                                          SECONDS, print the longest silence between replies
//   probe await SOURCE SECONDS             return (0) as soon as a VRRP advert from SOURCE
//                                          arrives on eth0, 1 if none within SECONDS: the
//                                          benchmark injects its faults right after an advert
// Output of send: "max_gap_ms=<float> replies=<n> sent=<n>". Replies are matched by nothing
// but arrival: any reply proves a router held the VIP at that moment.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int echo(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) { perror("bind"); return 1; }
    char buf[64];
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
        if (n > 0) sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
}

static int send_probe(const char *addr, int port, double seconds, int gap_us) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, addr, &to.sin_addr);
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), next = start;
    uint64_t last_reply = 0, max_gap = 0, first_reply = 0;
    unsigned long sent = 0, replies = 0, seq = 0;
    char buf[64];
    while (now_ns() < end) {
        uint64_t t = now_ns();
        if (t >= next) {
            seq++;
            sendto(fd, &seq, sizeof(seq), 0, (struct sockaddr *)&to, sizeof(to));
            sent++;
            next += (uint64_t)gap_us * 1000ull;
            if (next < t) next = t + (uint64_t)gap_us * 1000ull;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int64_t wait = (int64_t)(next - now_ns());
        struct timespec ts = { 0, wait > 0 ? wait : 0 };
        if (ppoll(&p, 1, &ts, NULL) > 0) {
            while (recv(fd, buf, sizeof(buf), 0) > 0) {
                uint64_t r = now_ns();
                if (!first_reply) first_reply = r;
                if (last_reply && r - last_reply > max_gap) max_gap = r - last_reply;
                last_reply = r;
                replies++;
            }
        }
    }
    // Silence until the end counts too (the VIP never came back).
    if (last_reply && last_reply < end && end - last_reply > max_gap) max_gap = end - last_reply;
    if (!first_reply) max_gap = end - start;
    printf("max_gap_ms=%.1f replies=%lu sent=%lu\n", (double)max_gap / 1e6, replies, sent);
    return 0;
}

static int await_advert(const char *source, double seconds) {
    int fd = socket(AF_INET, SOCK_RAW, 112);
    if (fd < 0) { perror("socket"); return 2; }
    struct ip_mreqn m;
    memset(&m, 0, sizeof(m));
    inet_pton(AF_INET, "224.0.0.18", &m.imr_multiaddr);
    m.imr_ifindex = (int)if_nametoindex("eth0");
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) < 0) { perror("IP_ADD_MEMBERSHIP"); return 2; }
    struct in_addr want;
    if (inet_pton(AF_INET, source, &want) != 1) { fprintf(stderr, "bad address %s\n", source); return 2; }
    uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9);
    char buf[2048];
    for (uint64_t t = now_ns(); t < deadline; t = now_ns()) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)((deadline - t) / 1000000) + 1) <= 0) continue;
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) > 0 &&
            from.sin_addr.s_addr == want.s_addr)
            return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "echo") == 0) return echo(atoi(argv[2]));
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0)
        return send_probe(argv[2], atoi(argv[3]), atof(argv[4]), argc == 6 ? atoi(argv[5]) : 1000);
    if (argc == 4 && strcmp(argv[1], "await") == 0) return await_advert(argv[2], atof(argv[3]));
    fprintf(stderr, "usage: probe echo PORT | probe send ADDR PORT SECONDS [GAP_US] | probe await SOURCE SECONDS\n");
    return 2;
}
