#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>

int cvrrp_set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return -errno;
    return 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sun) {
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) return -ENAMETOOLONG;
    strcpy(sun->sun_path, path);
    return 0;
}

int cvrrp_unix_listen(const char *path) {
    struct sockaddr_un sun;
    int rc = unix_addr(path, &sun);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    unlink(path);
    mode_t old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cvrrp_unix_connect(const char *path) {
    struct sockaddr_un sun;
    int rc = unix_addr(path, &sun);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cvrrp_tcp_listen(uint32_t addr, uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = addr };
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cvrrp_accept(int fd) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return c < 0 ? -errno : c;
}

int cvrrp_pipe(int fds[2], int nonblock) {
    return pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) < 0 ? -errno : 0;
}

int cvrrp_poll_ns(struct pollfd *fds, unsigned long n, int64_t timeout_ns) {
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tp = &ts;
    }
    int rc = ppoll(fds, n, tp, NULL);
    return rc < 0 ? -errno : rc;
}

int cvrrp_epoll_create(void) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    return ep < 0 ? -errno : ep;
}

int cvrrp_epoll_add(int ep, int fd, uint32_t tag) {
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int cvrrp_epoll_enable(int ep, int fd, uint32_t tag, int enabled) {
    // A descriptor stays in the set with no events rather than being removed: nothing to re-add.
    struct epoll_event ev = { .events = enabled ? EPOLLIN : 0, .data.u32 = tag };
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int cvrrp_epoll_wait_ns(int ep, uint32_t *tags, int cap, int64_t timeout_ns) {
    // Only the event loop's thread calls this, so a plain static remembers an old kernel.
    static int no_pwait2;
    struct epoll_event events[32];
    if (cap > 32) cap = 32;
    int n = -1;
    if (!no_pwait2) {
        struct timespec ts = { 0, 0 };
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
        }
        n = (int)syscall(SYS_epoll_pwait2, ep, events, cap, timeout_ns >= 0 ? &ts : NULL, NULL, 0);
        if (n < 0 && errno == ENOSYS) no_pwait2 = 1;
    }
    if (no_pwait2) {
        // Before Linux 5.11: millisecond timeouts, rounded up so a deadline is never missed early.
        int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
        n = epoll_wait(ep, events, cap, ms);
    }
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) tags[i] = events[i].data.u32;
    return n;
}
