/*
 * test-hostile.c: callroled facing hostile or unlucky clients.  Every test
 * ends by showing that an ordinary client is still answered correctly.
 *
 *   - a flood of pipelined requests from an unprivileged uid does not hold
 *     up root (PAM runs as root) and does not blow up the daemon's memory;
 *   - a client pipelining thousands of requests while reading gets every
 *     reply, in order;
 *   - connections per uid are capped, root is not, and the cap is logged;
 *   - a thousand connections at once meet the total cap, which is logged,
 *     and the daemon serves normally once they are gone;
 *   - a peer trickling a frame a byte at a time is cut off at the absolute
 *     I/O deadline, not kept alive by each byte;
 *   - names from requests cannot forge lines in the daemon's log;
 *   - a connection that never sends is closed after the idle timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callrole-wire.h"
#include "callrole.h"
#include "helper-daemon.h"

#define NOBODY 65534

static TestDaemon d;
static char config_path[256];

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int raw_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memcpy(sa.sun_path, d.socket, strlen(d.socket));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* No cmocka assertion: flooders call this in a child process. */
static int frame_status(struct cr_buf *b, uint32_t id) {
        cr_frame_begin(b, CR_MSG_STATUS, id);
        cr_put_prefix(b, 0, "");
        cr_put_u16(b, 0);
        return cr_frame_end(b);
}

static void drop_to(uid_t uid) {
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                _exit(126);
}

static void drop_to_nobody(void) {
        drop_to(NOBODY);
}

/* Lines of the daemon's log containing needle. */
static unsigned log_count(const char *needle) {
        char line[2048];
        unsigned n = 0;
        FILE *f = fopen(d.log, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, needle))
                        n++;
        fclose(f);
        return n;
}

/* The ordinary client: root asks about a known user. */
static void assert_served(void) {
        callrole *c = NULL;
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, d.socket), 0);
        assert_int_equal(callrole_check(c, "h-alice", "login", NULL, NULL, 0, NULL), 1);
        callrole_free(c);
}

static long daemon_rss_kb(void) {
        char path[64], line[256];
        long kb = -1;
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) d.pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

static int group_setup(void **state) {
        const char *extra[] = { "--config", config_path, NULL };
        callrole *c = NULL;
        callrole_record *p = NULL;
        FILE *f;
        int r;

        snprintf(config_path, sizeof(config_path), "/tmp/callrole-hostile-%d.conf", (int) getpid());
        f = fopen(config_path, "we");
        if (!f)
                return -1;
        fprintf(f, "# test-hostile\nio-timeout-sec = 1\nidle-timeout-sec = 2\n"
                   "max-connections-per-uid = 8\nmax-connections = 300\n");
        fclose(f);
        if (test_daemon_start(&d, extra) < 0)
                return -1;
        /* uid 65534 must reach the socket inside the test folder. */
        (void) chmod(d.dir, 0755);
        if (callrole_new(&c) < 0 || callrole_set_socket(c, d.socket) < 0)
                return -1;
        callrole_record_new(&p);
        callrole_record_add(p, "role", "h-role");
        callrole_record_add(p, "rank", "10");
        callrole_record_add(p, "grants", "login");
        r = callrole_call(c, "role.add", p, NULL);
        callrole_record_free(p);
        callrole_record_new(&p);
        callrole_record_add(p, "name", "h-alice");
        callrole_record_add(p, "role", "h-role");
        if (r >= 0)
                r = callrole_call(c, "user.add", p, NULL);
        callrole_record_free(p);
        callrole_free(c);
        return r < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        test_daemon_cleanup(&d);
        unlink(config_path);
        return 0;
}

/* A flooder: several connections, each pipelining status requests as fast
 * as the socket takes them; "readers" also drain the replies (the costly
 * kind: the daemon never stops serving them), the others never read. */
static void flooder(uid_t uid, bool reader, double seconds) {
        struct cr_buf b;
        int fds[4];
        char sink[65536];
        double end = now_s() + seconds;

        drop_to(uid);
        cr_buf_init(&b, 1 << 20);
        for (int i = 0; i < 64; i++) {
                struct cr_buf one;
                cr_buf_init(&one, 4096);
                if (frame_status(&one, (uint32_t) i + 1) < 0)
                        _exit(3);
                cr_put_bytes(&b, one.data, one.len);
                cr_buf_done(&one);
        }
        for (int i = 0; i < 4; i++) {
                fds[i] = raw_connect();
                if (fds[i] >= 0)
                        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        }
        while (now_s() < end)
                for (int i = 0; i < 4; i++) {
                        if (fds[i] < 0)
                                continue;
                        (void) !send(fds[i], b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (reader)
                                while (recv(fds[i], sink, sizeof(sink), MSG_DONTWAIT) > 0)
                                        ;
                }
        _exit(0);
}

static void test_flood_does_not_starve_root(void **state) {
        pid_t kids[6];
        double worst = 0;
        long rss;

        if (geteuid() != 0)
                skip();
        /* Six ordinary uids (they need no passwd entry: the daemon maps
         * what it can), four connections each, within the per-uid cap. */
        for (int i = 0; i < 6; i++) {
                kids[i] = fork();
                assert_true(kids[i] >= 0);
                if (kids[i] == 0)
                        flooder((uid_t) (60001 + i), i % 2 == 0, 4.0);
        }
        usleep(500 * 1000);
        /* Root's checks, one connection each as PAM makes them, while the
         * flood runs: each must come back well inside PAM's default 2 s. */
        for (int i = 0; i < 30; i++) {
                double t0 = now_s(), dt;
                assert_served();
                dt = now_s() - t0;
                if (dt > worst)
                        worst = dt;
                usleep(50 * 1000);
        }
        rss = daemon_rss_kb();
        for (int i = 0; i < 6; i++) {
                kill(kids[i], SIGKILL);
                waitpid(kids[i], NULL, 0);
        }
        print_message("worst root check under flood: %.3f s; daemon RSS %ld kB\n", worst, rss);
        assert_true(worst < 1.0);
        /* Six flooders of four connections, half never reading: each
         * connection holds at most the high-water mark and one reply.
         * AddressSanitizer's allocator keeps freed memory in quarantine
         * and pads every block, so its resident size says nothing about
         * ours; the bound is checked in the normal build. */
#if !defined(__SANITIZE_ADDRESS__)
        assert_true(rss > 0 && rss < 128 * 1024);
#endif
        assert_served();
}

typedef struct Pipe {
        int fd;
        unsigned n;
} Pipe;

static void *pipeline_writer(void *p) {
        Pipe *pp = p;
        struct cr_buf b;
        cr_buf_init(&b, 4096);
        for (unsigned i = 0; i < pp->n; i++) {
                cr_frame_begin(&b, CR_MSG_ROLE_LIST, i + 1);
                cr_put_prefix(&b, 0, "");
                cr_put_u16(&b, 0);
                if (cr_frame_end(&b) < 0 || write(pp->fd, b.data, b.len) != (ssize_t) b.len)
                        break;
        }
        cr_buf_done(&b);
        return NULL;
}

static int read_full(int fd, void *p, size_t n) {
        size_t got = 0;
        while (got < n) {
                ssize_t k = read(fd, (char *) p + got, n - got);
                if (k <= 0)
                        return -1;
                got += (size_t) k;
        }
        return 0;
}

static void test_pipelined_reader_gets_every_reply(void **state) {
        Pipe pp = { .n = 3000 };
        pthread_t t;
        unsigned got = 0;

        pp.fd = raw_connect();
        assert_true(pp.fd >= 0);
        pthread_create(&t, NULL, pipeline_writer, &pp);
        for (unsigned i = 0; i < pp.n; i++) {
                uint8_t h[CR_HEADER_SIZE], *payload;
                struct cr_header hd;
                if (read_full(pp.fd, h, sizeof(h)) < 0)
                        break;
                assert_int_equal(cr_header_decode(h, sizeof(h), CR_REPLY_MAX, &hd), 0);
                assert_int_equal(hd.type, CR_MSG_RECORDS);
                assert_int_equal(hd.id, i + 1);
                payload = malloc(hd.length ? hd.length : 1);
                assert_int_equal(read_full(pp.fd, payload, hd.length), 0);
                free(payload);
                got++;
        }
        pthread_join(t, NULL);
        close(pp.fd);
        assert_int_equal(got, pp.n);
        assert_served();
}

static void test_connections_per_uid(void **state) {
        int fds[12], p[2], open_ok = 0;
        unsigned said_before = log_count("too many connections from this uid");
        pid_t pid;

        if (geteuid() != 0)
                skip();
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int n = 0;
                drop_to_nobody();
                for (int i = 0; i < 12; i++)
                        fds[i] = raw_connect();
                usleep(300 * 1000);
                /* A refused connection is closed by the daemon at once:
                 * it reads as EOF; an accepted one would block. */
                for (int i = 0; i < 12; i++) {
                        struct pollfd pf = { .fd = fds[i], .events = POLLIN };
                        if (fds[i] >= 0 && poll(&pf, 1, 100) == 0)
                                n++;
                }
                (void) !write(p[1], &n, sizeof(n));
                usleep(500 * 1000);
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(read(p[0], &open_ok, sizeof(open_ok)), (ssize_t) sizeof(open_ok));
        close(p[0]);
        /* max-connections-per-uid = 8 in this daemon's configuration. */
        assert_int_equal(open_ok, 8);
        /* Root is an administrator: not capped per uid.  connect() alone
         * proves nothing (a refused connection is accepted, then closed),
         * so each must still be open a moment later. */
        for (int i = 0; i < 12; i++) {
                fds[i] = raw_connect();
                assert_true(fds[i] >= 0);
        }
        usleep(300 * 1000);
        for (int i = 0; i < 12; i++) {
                struct pollfd pf = { .fd = fds[i], .events = POLLIN };
                assert_int_equal(poll(&pf, 1, 100), 0);
        }
        assert_served();
        for (int i = 0; i < 12; i++)
                close(fds[i]);
        waitpid(pid, NULL, 0);
        assert_int_equal(log_count("too many connections from this uid"), said_before + 1);
}

/* A thousand connections at once (root: only the total cap and the slots
 * kept for administrators apply):
 * the daemon holds its limit, says so in the log, refuses the rest at once
 * instead of letting them hang, and serves normally once they are gone. */
enum { THOUSAND = 1000 };
static int thousand_fds[THOUSAND];

/* Whatever happened, the thousand connections must not outlive the test:
 * the flood test after it needs the slots. */
static int close_thousand(void **state) {
        for (int i = 0; i < THOUSAND; i++)
                if (thousand_fds[i] > 0) {
                        close(thousand_fds[i]);
                        thousand_fds[i] = 0;
                }
        return 0;
}

static void test_thousand_connections(void **state) {
        enum { N = THOUSAND };
        int *fds = thousand_fds;
        struct rlimit rl;
        unsigned held = 0, refused = 0;

        unsigned said_before = log_count("too many connections (");

        assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
        if (rl.rlim_max < N + 64 && geteuid() == 0)
                rl.rlim_max = N + 64;   /* root may raise its own hard limit */
        if (rl.rlim_max < N + 64)
                skip();
        rl.rlim_cur = rl.rlim_max;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
        for (int i = 0; i < N; i++) {
                fds[i] = raw_connect();
                assert_true(fds[i] >= 0);
        }
        /* Count until the daemon has accepted (and refused) them all: the
         * numbers must stay the same between two looks. */
        for (unsigned prev = UINT_MAX, tries = 0; tries < 50; tries++) {
                usleep(200 * 1000);
                held = refused = 0;
                for (int i = 0; i < N; i++) {
                        struct pollfd pf = { .fd = fds[i], .events = POLLIN };
                        if (poll(&pf, 1, 0) == 0)
                                held++;
                        else
                                refused++;
                }
                if (held == prev)
                        break;
                prev = held;
        }
        print_message("%d connections: %u held, %u refused (max-connections = 300)\n", N, held, refused);
        /* 300 for everyone, and 64 more kept for administrators. */
        assert_true(held <= 300 + 64);
        assert_true(held >= 300);
        assert_int_equal(held + refused, N);
        close_thousand(NULL);
        usleep(200 * 1000);
        assert_served();
        assert_int_equal(log_count("too many connections ("), said_before + 1);
}

static void test_trickle_is_cut_at_the_deadline(void **state) {
        struct cr_buf b;
        int fd = raw_connect();
        double t0 = now_s(), closed_at = 0;
        size_t i = 0;

        assert_true(fd >= 0);
        cr_buf_init(&b, 4096);
        assert_int_equal(frame_status(&b, 7), 0);
        /* One byte every 200 ms: each byte arrives well inside a second,
         * but the frame as a whole would take 2.4 s against a 1 s limit. */
        for (;;) {
                struct pollfd pf = { .fd = fd, .events = POLLIN };
                if (i < b.len - 1)
                        (void) !send(fd, b.data + i++, 1, MSG_NOSIGNAL);
                if (poll(&pf, 1, 200) > 0) {
                        char c;
                        if (recv(fd, &c, 1, 0) <= 0) {
                                closed_at = now_s();
                                break;
                        }
                }
                if (now_s() - t0 > 5)
                        break;
        }
        cr_buf_done(&b);
        close(fd);
        assert_true(closed_at > 0);
        assert_true(closed_at - t0 < 2.5);
        assert_served();
}

/* A connection that never sends anything is closed after the idle
 * timeout, and costs the others nothing meanwhile. */
static void test_idle_connection_is_closed(void **state) {
        struct pollfd pf;
        double t0 = now_s(), dt;
        char c;
        int fd = raw_connect();

        assert_true(fd >= 0);
        assert_served();
        pf = (struct pollfd) { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&pf, 1, 5000), 1);
        assert_int_equal(recv(fd, &c, 1, 0), 0);   /* EOF: closed by the daemon */
        dt = now_s() - t0;
        close(fd);
        /* idle-timeout-sec = 2 in this daemon's configuration. */
        assert_true(dt >= 1.5 && dt < 4.0);
        assert_served();
}

static void test_names_cannot_forge_log_lines(void **state) {
        struct cr_buf b;
        const char *evil = "x\ncallroled: forged line";
        uint8_t h[CR_HEADER_SIZE];
        char cmd[600];
        int fd = raw_connect();

        assert_true(fd >= 0);
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_CHECK, 9);
        cr_put_prefix(&b, 0, "");
        cr_put_check(&b, evil, "login", "", NULL, NULL, 0);
        assert_int_equal(cr_frame_end(&b), 0);
        assert_int_equal(write(fd, b.data, b.len), (ssize_t) b.len);
        assert_int_equal(read_full(fd, h, sizeof(h)), 0);
        cr_buf_done(&b);
        close(fd);
        assert_served();
        snprintf(cmd, sizeof(cmd), "grep -q '^callroled: forged line' '%s'", d.log);
        assert_int_not_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "grep -q 'x?callroled: forged line' '%s'", d.log);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pipelined_reader_gets_every_reply),
                cmocka_unit_test(test_trickle_is_cut_at_the_deadline),
                cmocka_unit_test(test_names_cannot_forge_log_lines),
                cmocka_unit_test(test_idle_connection_is_closed),
                cmocka_unit_test(test_connections_per_uid),
                cmocka_unit_test_teardown(test_thousand_connections, close_thousand),
                cmocka_unit_test(test_flood_does_not_starve_root),
        };
        return cmocka_run_group_tests_name("hostile", tests, group_setup, group_teardown);
}
