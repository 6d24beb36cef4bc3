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
 *
 * Placement: the client, the daemon and the echo server are pinned, first
 * all to one CPU (the figures the targets judge), then the client to one
 * CPU and both servers to another (reported, not judged).  Left to the
 * scheduler, one server may share the client's CPU and the other not,
 * which changes a round trip several times over on these virtual machines.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "macro.h"
#include "workload.h"

#define POOL 4096u
#define BLOCK 200u

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
        int fd = work_listen(path);
        pid_t pid;

        if (fd < 0)
                return fd;
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

/* The frames of the pool, end to end, each with its reply's size in its id. */
typedef struct Pool {
        WorkCheck *checks;
        struct cr_buf frames;
        size_t off[POOL], len[POOL];
        uint32_t reply_len[POOL];
        uint64_t req_bytes, reply_bytes;
} Pool;

static void pool_build(Pool *p, const TestDaemon *d, const GenShape *shape) {
        uint64_t rng = 0x2545f4914f6cdd1dull;
        int fd, r;

        r = work_checks_new(shape, POOL, &rng, &p->checks);
        if (r < 0)
                work_die("%s", strerror(-r));
        cr_buf_init(&p->frames, SIZE_MAX);
        fd = work_connect(d->socket);
        if (fd < 0)
                work_die("cannot connect to callroled: %s", strerror(-fd));
        for (size_t i = 0; i < POOL; i++) {
                uint8_t h[CR_HEADER_SIZE];
                struct cr_header hdr;
                _cleanup_free_ uint8_t *payload = NULL;

                p->off[i] = p->frames.len;
                r = work_put_check_frame(&p->frames, &p->checks[i], 1);
                if (r < 0)
                        work_die("cannot encode a check: %s", strerror(-r));
                p->len[i] = p->frames.len - p->off[i];
                r = work_write_all(fd, p->frames.data + p->off[i], p->len[i]);
                if (r >= 0)
                        r = work_read_exact(fd, h, sizeof(h));
                if (r >= 0)
                        r = cr_header_decode(h, sizeof(h), CR_REPLY_MAX, &hdr);
                if (r >= 0 && hdr.type != CR_MSG_DECISION)
                        r = -EPROTO;
                if (r >= 0 && !(payload = malloc(hdr.length + 1)))
                        r = -ENOMEM;
                if (r >= 0)
                        r = work_read_exact(fd, payload, hdr.length);
                if (r < 0)
                        work_die("sizing the replies: %s", strerror(-r));
                p->reply_len[i] = CR_HEADER_SIZE + hdr.length;
                p->req_bytes += p->len[i];
                p->reply_bytes += p->reply_len[i];
                cr_header_encode(p->frames.data + p->off[i], CR_MSG_CHECK, p->reply_len[i],
                                 (uint32_t) (p->len[i] - CR_HEADER_SIZE));
        }
        close(fd);
}

/* n echo and n check round trips in alternating blocks, after `warm` of
 * each that are not recorded. */
static void measure(const Pool *p, int echo_fd, callrole *c, size_t n, size_t warm, BenchStats *ret_echo,
                    BenchStats *ret_check) {
        static uint8_t buf[CR_REPLY_MAX];
        _cleanup_free_ double *lat_echo = calloc(n, sizeof(double)), *lat_check = calloc(n, sizeof(double));
        size_t done_echo = 0, done_check = 0;
        int r;

        if (!lat_echo || !lat_check)
                work_die("out of memory");
        while (done_echo < n + warm || done_check < n + warm) {
                for (size_t j = 0; j < BLOCK && done_echo < n + warm; j++, done_echo++) {
                        size_t i = done_echo % POOL;
                        double t = bench_now_us();
                        r = work_write_all(echo_fd, p->frames.data + p->off[i], p->len[i]);
                        if (r >= 0)
                                r = work_read_exact(echo_fd, buf, p->reply_len[i]);
                        t = bench_now_us() - t;
                        if (r < 0)
                                work_die("echo round trip: %s", strerror(-r));
                        if (done_echo >= warm)
                                lat_echo[done_echo - warm] = t;
                }
                for (size_t j = 0; j < BLOCK && done_check < n + warm; j++, done_check++) {
                        const WorkCheck *w = &p->checks[done_check % POOL];
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
        *ret_echo = bench_stats(lat_echo, n, 0);
        *ret_check = bench_stats(lat_check, n, 0);
}

int main(void) {
        const bool quick = bench_quick();
        GenShape shape = { .users = quick ? 1000 : 10000, .accounts = 1000 };
        const size_t n = quick ? 4000 : 40000, warm = quick ? 500 : 2000;
        static Pool pool;
        BenchStats echo[2], check[2];
        char echo_path[400], what[16];
        int cpus[2], n_cpus, fd, r;
        bool split_done = false;
        callrole *c = NULL;
        TestDaemon d;
        pid_t echo_pid = 0;

        r = work_daemon_start(&d, &shape, NULL, NULL);
        if (r < 0)
                work_die("cannot start callroled on the generated policy: %s", strerror(-r));
        pool_build(&pool, &d, &shape);
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

        /* Where the scheduler puts a server decides the round trip more
         * than anything the server does (on these VMs a wake-up on another
         * CPU costs tens of µs, on the same CPU a few), and it does not put
         * both servers alike.  So both are measured in the same placement:
         * first client and servers on one CPU (judged), then, given two
         * CPUs, the client on one and the servers on the other. */
        n_cpus = work_cpus(cpus, 2);
        if (n_cpus < 1)
                work_die("cannot read the CPUs this process may use");
        for (int split = 0; split < (n_cpus >= 2 ? 2 : 1); split++) {
                int server_cpu = cpus[split];
                if ((r = work_pin(0, cpus[0])) < 0 || (r = work_pin(d.pid, server_cpu)) < 0 ||
                    (r = work_pin(echo_pid, server_cpu)) < 0)
                        work_die("cannot pin to CPU %d: %s", server_cpu, strerror(-r));
                measure(&pool, fd, c, n, warm, &echo[split], &check[split]);
                split_done = split;
                fprintf(stderr, "bench-latency: %s: %zu round trips each; echo p50 %.1f p99 %.1f µs, check p50 %.1f p99 %.1f µs\n",
                        split ? "different CPUs" : "one CPU", n, echo[split].p50, echo[split].p99, check[split].p50,
                        check[split].p99);
        }
        close(fd);
        callrole_free(c);
        (void) kill(echo_pid, SIGKILL);
        (void) waitpid(echo_pid, NULL, 0);
        work_daemon_cleanup(&d);

        bench_human_count(shape.users, what, sizeof(what));
        for (int split = 0; split <= (int) split_done; split++) {
                const char *where = split ? "client and servers on different CPUs" : "client and servers on one CPU";
                printf("| 1 latency | check p50, one connection, %s, %s users | %.1f µs | %.1f µs (echo server, same frames) | %.2f | %s |\n",
                       where, what, check[split].p50, echo[split].p50, check[split].p50 / echo[split].p50,
                       split ? "—" : "≤ 1.5");
                printf("| 1 latency | check p99, one connection, %s, %s users | %.1f µs | %.1f µs (echo server, same frames) | %.2f | %s |\n",
                       where, what, check[split].p99, echo[split].p99, check[split].p99 / echo[split].p99,
                       split ? "—" : "≤ 3");
        }
        printf("| 1 latency | frame sizes, request / reply (mean) | %.0f / %.0f bytes | same | — | — |\n",
               (double) pool.req_bytes / POOL, (double) pool.reply_bytes / POOL);
        (void) bench_target(check[0].p50 <= 1.5 * echo[0].p50, "check p50 vs echo round trip",
                            "%.2f ≤ 1.5 (one CPU)", check[0].p50 / echo[0].p50);
        (void) bench_target(check[0].p99 <= 3 * echo[0].p99, "check p99 vs echo round trip", "%.2f ≤ 3 (one CPU)",
                            check[0].p99 / echo[0].p99);
        return 0;
}
