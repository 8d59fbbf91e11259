#define _GNU_SOURCE
#include "cvrrpsys.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int remaining_ms(uint64_t deadline) {
    uint64_t now = cvrrp_monotonic_ns();
    return now >= deadline ? 0 : (int)((deadline - now) / 1000000ull);
}

static int wait_fd(int fd, short events, uint64_t deadline) {
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int ms = remaining_ms(deadline);
        if (ms == 0) return -ETIMEDOUT;
        int rc = poll(&p, 1, ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return -errno;
        if (rc == 0) return -ETIMEDOUT;
        return 0;
    }
}

static int connect_deadline(uint32_t addr, uint16_t port, uint64_t deadline) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = addr };
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = wait_fd(fd, POLLOUT, deadline);
    if (rc == 0) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err ? -err : 0;
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int cvrrp_tcp_check(uint32_t addr, uint16_t port, int timeout_ms) {
    int fd = connect_deadline(addr, port, cvrrp_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull);
    if (fd < 0) return fd;
    close(fd);
    return 0;
}

// libssl is loaded at run time so the binary has no link-time dependency on it: nodes without
// libssl3 still run the daemon, only https checks are refused (by --check-config).
typedef struct {
    void *(*TLS_client_method)(void);
    void *(*SSL_CTX_new)(const void *);
    void (*SSL_CTX_free)(void *);
    void *(*SSL_new)(void *);
    void (*SSL_free)(void *);
    int (*SSL_set_fd)(void *, int);
    int (*SSL_connect)(void *);
    int (*SSL_write)(void *, const void *, int);
    int (*SSL_read)(void *, void *, int);
    int (*SSL_get_error)(const void *, int);
    long (*SSL_ctrl)(void *, int, long, void *);
} tls_api;

static tls_api tls;
static int tls_state;  // 0 unknown, 1 loaded, -1 unavailable
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_load(void) {
    void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h) { tls_state = -1; return; }
#define LOAD(name) if (!(*(void **)&tls.name = dlsym(h, #name))) { tls_state = -1; return; }
    LOAD(TLS_client_method) LOAD(SSL_CTX_new) LOAD(SSL_CTX_free) LOAD(SSL_new) LOAD(SSL_free)
    LOAD(SSL_set_fd) LOAD(SSL_connect) LOAD(SSL_write) LOAD(SSL_read) LOAD(SSL_get_error)
    LOAD(SSL_ctrl)
#undef LOAD
    tls_state = 1;
}

int cvrrp_tls_available(void) {
    pthread_once(&tls_once, tls_load);
    return tls_state == 1;
}

#define SSL_ERROR_WANT_READ 2
#define SSL_ERROR_WANT_WRITE 3
#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define TLSEXT_NAMETYPE_host_name 0

// Runs one TLS operation on a non-blocking fd until it completes or the deadline passes.
#define TLS_RETRY(expr, result)                                                    \
    for (;;) {                                                                     \
        result = (expr);                                                           \
        if (result > 0) break;                                                     \
        int e_ = tls.SSL_get_error(ssl, result);                                   \
        short ev_ = e_ == SSL_ERROR_WANT_READ ? POLLIN                             \
                  : e_ == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;                      \
        if (!ev_) { result = -ECONNRESET; break; }                                 \
        int w_ = wait_fd(fd, ev_, deadline);                                       \
        if (w_ < 0) { result = w_; break; }                                        \
    }

static int parse_status(const char *buf, int len) {
    // "HTTP/1.x NNN ..."
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') return -EPROTO;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9') return -EPROTO;
        code = code * 10 + (buf[i] - '0');
    }
    return code;
}

int cvrrp_http_check(uint32_t addr, uint16_t port, int tls_on, const char *sni,
                     const char *request, int timeout_ms) {
    uint64_t deadline = cvrrp_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    if (tls_on && !cvrrp_tls_available()) return -ENOPKG;
    int fd = connect_deadline(addr, port, deadline);
    if (fd < 0) return fd;
    char buf[256];
    int got = 0, rc = 0, reqlen = (int)strlen(request);
    if (!tls_on) {
        int sent = 0;
        while (sent < reqlen) {
            ssize_t n = send(fd, request + sent, (size_t)(reqlen - sent), MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN) { if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0) goto out; continue; }
            if (n < 0) { rc = -errno; goto out; }
            sent += (int)n;
        }
        while (got < 12) {
            ssize_t n = recv(fd, buf + got, sizeof(buf) - (size_t)got, 0);
            if (n < 0 && errno == EAGAIN) { if ((rc = wait_fd(fd, POLLIN, deadline)) < 0) goto out; continue; }
            if (n <= 0) { rc = n == 0 ? -ECONNRESET : -errno; goto out; }
            got += (int)n;
        }
        rc = parse_status(buf, got);
        goto out;
    }
    void *ctx = tls.SSL_CTX_new(tls.TLS_client_method());
    void *ssl = ctx ? tls.SSL_new(ctx) : NULL;
    if (!ssl) { rc = -ENOMEM; goto tls_out; }
    tls.SSL_set_fd(ssl, fd);
    if (sni && *sni) tls.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)sni);
    // A liveness probe of a local endpoint: the peer certificate is not verified (as with
    // curl -k in keepalived track scripts); the answer's status code is what counts.
    TLS_RETRY(tls.SSL_connect(ssl), rc)
    if (rc < 0) goto tls_out;
    TLS_RETRY(tls.SSL_write(ssl, request, reqlen), rc)
    if (rc < 0) goto tls_out;
    while (got < 12) {
        int n;
        TLS_RETRY(tls.SSL_read(ssl, buf + got, (int)sizeof(buf) - got), n)
        if (n < 0) { rc = n; goto tls_out; }
        got += n;
    }
    rc = parse_status(buf, got);
tls_out:
    if (ssl) tls.SSL_free(ssl);
    if (ctx) tls.SSL_CTX_free(ctx);
out:
    close(fd);
    return rc;
}
