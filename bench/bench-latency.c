/*
 * bench-latency.c: section 1 of `make bench`: how close is one check to the
 * physical limit of the socket path?
 *
 * The baseline is a minimal echo server in a process of its own: blocking
 * accept(), then read() a whole frame and write() a reply, nothing else.
 * It is sent the very bytes libcallrole sends for each check (encoded with
 * the wire codec) and answers with as many bytes as callroled answered to
 * that same check (measured beforehand on a raw connection; the size rides
 * in the request's id field, which the echo server reads back).  So both
 * sides move the same frames through the same kind of socket; what differs
 * is what callroled and libcallrole do around them.
 *
 * The checks are callrole_check() calls on one handle, random users of a
 * generated policy (10k users; quick: 1k) with their account and the
 * group, IVR and assignee attributes.  Echo and check round trips run in
 * alternating blocks so that noise from the shared machine hits both.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "macro.h"
#include "workload.h"

#define POOL 4096u
#define BLOCK 200u

static int read_exact(int fd, void *p, size_t n) {
        uint8_t *q = p;

        while (n > 0) {
                ssize_t k = read(fd, q, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ECONNRESET;
                q += k;
                n -= (size_t) k;
        }
        return 0;
}

/* The echo server: one connection at a time, a frame in, reply bytes out. */
static _Noreturn void echo_serve(int listen_fd) {
        static uint8_t in[CR_HEADER_SIZE + CR_REQUEST_MAX], out[CR_REPLY_MAX];

        for (;;) {
                int fd = accept(listen_fd, NULL, NULL);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                for (;;) {
                        size_t have = 0, need = CR_HEADER_SIZE;
                        uint32_t reply_len;
                        ssize_t k;

                        while (have < need) {
                                k = read(fd, in + have, sizeof(in) - have);
                                if (k <= 0)
                                        goto next;
                                have += (size_t) k;
                                if (have >= CR_HEADER_SIZE)
                                        need = CR_HEADER_SIZE + ((uint32_t) in[8] << 24 | (uint32_t) in[9] << 16 |
                                                                 (uint32_t) in[10] << 8 | in[11]);
                        }
                        reply_len = (uint32_t) in[4] << 24 | (uint32_t) in[5] << 16 | (uint32_t) in[6] << 8 | in[7];
                        if (reply_len > sizeof(out) || write(fd, out, reply_len) != (ssize_t) reply_len)
                                goto next;
                }
        next:
                close(fd);
        }
}

static int echo_start(const char *path, pid_t *ret_pid) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;
        pid_t pid;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                echo_serve(fd);
        }
        close(fd);
        *ret_pid = pid;
        return 0;
}

int main(void) {
        const bool quick = bench_quick();
        GenShape shape = { .users = quick ? 1000 : 10000, .accounts = 1000 };
        const size_t n = quick ? 5000 : 50000, warm = quick ? 500 : 2000;
        _cleanup_free_ WorkCheck *pool = NULL;
        _cleanup_free_ double *lat_echo = NULL, *lat_check = NULL;
        _cleanup_free_ size_t *req_off = NULL, *req_len = NULL;
        _cleanup_free_ uint32_t *reply_len = NULL;
        struct cr_buf frames;
        uint64_t rng = 0x2545f4914f6cdd1dull, req_bytes = 0, reply_bytes = 0;
        BenchStats echo, check;
        char echo_path[400], what[16];
        callrole *c = NULL;
        TestDaemon d;
        pid_t echo_pid = 0;
        int fd, r;
        size_t done_echo = 0, done_check = 0;

        r = work_daemon_start(&d, &shape, NULL, NULL);
        if (r < 0)
                work_die("cannot start callroled on the generated policy: %s", strerror(-r));
        r = work_checks_new(&shape, POOL, &rng, &pool);
        if (r < 0)
                work_die("%s", strerror(-r));

        /* The request frames, each with the size of its reply (measured on
         * a raw connection to the daemon) in its id. */
        req_off = calloc(POOL, sizeof(size_t));
        req_len = calloc(POOL, sizeof(size_t));
        reply_len = calloc(POOL, sizeof(uint32_t));
        if (!req_off || !req_len || !reply_len)
                work_die("out of memory");
        cr_buf_init(&frames, SIZE_MAX);
        fd = work_connect(d.socket);
        if (fd < 0)
                work_die("cannot connect to callroled: %s", strerror(-fd));
        for (size_t i = 0; i < POOL; i++) {
                uint8_t h[CR_HEADER_SIZE];
                struct cr_header hdr;
                _cleanup_free_ uint8_t *payload = NULL;

                req_off[i] = frames.len;
                r = work_put_check_frame(&frames, &pool[i], 1);
                if (r < 0)
                        work_die("cannot encode a check: %s", strerror(-r));
                req_len[i] = frames.len - req_off[i];
                r = work_write_all(fd, frames.data + req_off[i], req_len[i]);
                if (r >= 0)
                        r = read_exact(fd, h, sizeof(h));
                if (r >= 0)
                        r = cr_header_decode(h, sizeof(h), CR_REPLY_MAX, &hdr);
                if (r >= 0 && hdr.type != CR_MSG_DECISION)
                        r = -EPROTO;
                if (r >= 0 && !(payload = malloc(hdr.length + 1)))
                        r = -ENOMEM;
                if (r >= 0)
                        r = read_exact(fd, payload, hdr.length);
                if (r < 0)
                        work_die("sizing the replies: %s", strerror(-r));
                reply_len[i] = CR_HEADER_SIZE + hdr.length;
                req_bytes += req_len[i];
                reply_bytes += reply_len[i];
                cr_header_encode(frames.data + req_off[i], CR_MSG_CHECK, reply_len[i], (uint32_t) (req_len[i] - CR_HEADER_SIZE));
        }
        close(fd);

        snprintf(echo_path, sizeof(echo_path), "%s/echo", d.dir);
        r = echo_start(echo_path, &echo_pid);
        if (r < 0)
                work_die("cannot start the echo server: %s", strerror(-r));
        fd = work_connect(echo_path);
        if (fd < 0)
                work_die("cannot connect to the echo server: %s", strerror(-fd));
        r = work_handle(&d, &c);
        if (r < 0)
                work_die("%s", strerror(-r));

        lat_echo = calloc(n, sizeof(double));
        lat_check = calloc(n, sizeof(double));
        if (!lat_echo || !lat_check)
                work_die("out of memory");
        /* Alternating blocks; the first `warm` round trips of each side are
         * warm-up and not recorded. */
        for (size_t k = 0; done_echo < n + warm || done_check < n + warm; k++) {
                static uint8_t buf[CR_REPLY_MAX];
                for (size_t j = 0; j < BLOCK && done_echo < n + warm; j++, done_echo++) {
                        size_t i = done_echo % POOL;
                        double t = bench_now_us();
                        r = work_write_all(fd, frames.data + req_off[i], req_len[i]);
                        if (r >= 0)
                                r = read_exact(fd, buf, reply_len[i]);
                        t = bench_now_us() - t;
                        if (r < 0)
                                work_die("echo round trip: %s", strerror(-r));
                        if (done_echo >= warm)
                                lat_echo[done_echo - warm] = t;
                }
                for (size_t j = 0; j < BLOCK && done_check < n + warm; j++, done_check++) {
                        const WorkCheck *w = &pool[done_check % POOL];
                        double t = bench_now_us();
                        r = callrole_check(c, w->user, w->perm, w->account, w->attrs, 3, NULL);
                        t = bench_now_us() - t;
                        if (r < 0)
                                work_die("check: %s: %s", callrole_strerror(r),
                                         callrole_last_error(c) ? callrole_last_error(c) : "");
                        if (done_check >= warm)
                                lat_check[done_check - warm] = t;
                }
        }
        echo = bench_stats(lat_echo, n, 0);
        check = bench_stats(lat_check, n, 0);
        close(fd);
        callrole_free(c);
        cr_buf_done(&frames);
        (void) kill(echo_pid, SIGKILL);
        (void) waitpid(echo_pid, NULL, 0);
        work_daemon_cleanup(&d);

        fprintf(stderr, "bench-latency: %zu round trips each; echo p50 %.1f p99 %.1f µs, check p50 %.1f p99 %.1f µs\n", n,
                echo.p50, echo.p99, check.p50, check.p99);
        bench_human_count(shape.users, what, sizeof(what));
        printf("| 1 latency | check p50, one connection, %s users | %.1f µs | %.1f µs (echo server, same frames) | %.2f | ≤ 1.5 |\n",
               what, check.p50, echo.p50, check.p50 / echo.p50);
        printf("| 1 latency | check p99, one connection, %s users | %.1f µs | %.1f µs (echo server, same frames) | %.2f | ≤ 3 |\n",
               what, check.p99, echo.p99, check.p99 / echo.p99);
        printf("| 1 latency | frame sizes, request / reply (mean) | %.0f / %.0f bytes | same | — | — |\n",
               (double) req_bytes / POOL, (double) reply_bytes / POOL);
        (void) bench_target(check.p50 <= 1.5 * echo.p50, "check p50 vs echo round trip", "%.2f ≤ 1.5",
                              check.p50 / echo.p50);
        (void) bench_target(check.p99 <= 3 * echo.p99, "check p99 vs echo round trip", "%.2f ≤ 3",
                              check.p99 / echo.p99);
        return 0;
}
