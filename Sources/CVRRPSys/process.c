#define _GNU_SOURCE
#include <malloc.h>
#include <sys/mman.h>
#include <stdio.h>
#include "cvrrpsys.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

extern char **environ;

pid_t cvrrp_spawn(const char *const argv[]) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&fa);
    // The daemon blocks its signals for signalfd; children must get them back.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    // Nor does the daemon's real-time scheduling belong to hooks and check scripts.
    struct sched_param normal = { .sched_priority = 0 };
    posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER);
    posix_spawnattr_setschedparam(&attr, &normal);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSCHEDULER);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc ? -rc : pid;
}

int cvrrp_exec(const char *path, const char *const argv[]) {
    execv(path, (char *const *)argv);
    return -errno;
}

static int decode_status(int st) {
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 255;
}

int cvrrp_wait_timeout(pid_t pid, int timeout_ms) {
    uint64_t deadline = cvrrp_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return decode_status(st);
        if (r < 0 && errno != EINTR) return -errno;
        if (cvrrp_monotonic_ns() >= deadline) {
            // The script runs in its own process group: kill what it started too.
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -ETIMEDOUT;
        }
        struct timespec ts = { 0, 5 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

int cvrrp_reap(pid_t pid, int *status) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) { *status = decode_status(st); return 1; }
    if (r < 0 && errno == ECHILD) { *status = 255; return 1; }
    return 0;
}

int cvrrp_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    sigset_t blocked = set;
    sigaddset(&blocked, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &blocked, NULL) != 0) return -EINVAL;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cvrrp_signalfd_read(int fd) {
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof(si));
    return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

int cvrrp_realtime(int priority) {
    struct sched_param sp = { .sched_priority = priority };
    int rc = pthread_setschedparam(pthread_self(), priority > 0 ? SCHED_RR : SCHED_OTHER, &sp);
    return rc ? -rc : 0;
}

int cvrrp_unmap_unused_text(void) {
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return -errno;
    exe[len] = 0;
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps) return -errno;
    char line[4096 + 128];
    int count = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[5];
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3 || path_at == 0) continue;
        char *path = line + path_at;
        path[strcspn(path, "\n")] = 0;
        // Our own executable code only. Never a read-only data mapping: after RELRO those hold
        // relocated copies that MADV_DONTNEED would replace with the file's unrelocated bytes.
        if (strcmp(path, exe) != 0 || perms[1] == 'w' || perms[2] != 'x' || perms[3] != 'p') continue;
        if (madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0) count++;
    }
    fclose(maps);
    return count;
}

void cvrrp_single_malloc_arena(void) {
    mallopt(M_ARENA_MAX, 1);
}

int cvrrp_thread_normal_attr(pthread_attr_t *attr) {
    struct sched_param sp = { .sched_priority = 0 };
    int rc = pthread_attr_setinheritsched(attr, PTHREAD_EXPLICIT_SCHED);
    if (!rc) rc = pthread_attr_setschedpolicy(attr, SCHED_OTHER);
    if (!rc) rc = pthread_attr_setschedparam(attr, &sp);
    return rc ? -rc : 0;
}

int cvrrp_has_network_capabilities(void) {
    FILE *status = fopen("/proc/self/status", "re");
    if (!status) return -errno;
    char line[256];
    unsigned long long effective = 0;
    int found = 0;
    while (fgets(line, sizeof(line), status)) {
        if (sscanf(line, "CapEff: %llx", &effective) == 1) { found = 1; break; }
    }
    fclose(status);
    if (!found) return -ENOENT;
    const unsigned long long needed = (1ULL << 12) | (1ULL << 13);  // CAP_NET_ADMIN, CAP_NET_RAW
    return (effective & needed) == needed;
}
