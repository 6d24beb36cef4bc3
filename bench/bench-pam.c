/*
 * bench-pam.c: what pam_callrole costs a login's account phase (issue 7,
 * section 4), against the same stack with pam_succeed_if and with
 * pam_permit, and against the floor of any daemon-backed module: a bare
 * connect() to a Unix socket, one round trip of a frame the size of a check
 * request, and close().
 *
 * A real callroled (tests/helper-daemon.h) holds the ctm profile and one
 * callrole user named after a real Unix account (root by default: the one
 * account every machine has, so pam_succeed_if resolves it too), whose role
 * grants login.  Three PAM services are written into a folder of our own and
 * run through Linux-PAM's pam_start_confdir(), so libpam reads the service
 * file and dlopen()s the module exactly as login or sshd would:
 *
 *   callrole   account required <build>/pam_callrole.so socket=<daemon's>
 *   succeedif  account required pam_succeed_if.so user ingroup <user's group>
 *   permit     account required pam_permit.so
 *   other      account required pam_deny.so      (so nothing falls through)
 *
 * Every call gets a handle of its own (libpam's pam_modutil caches pile up on
 * a reused handle and make pam_succeed_if slower call after call), and one
 * transaction yields both figures: pam_start_confdir + pam_acct_mgmt +
 * pam_end timed as a whole, and pam_acct_mgmt timed alone inside it.  The
 * three stacks and the baseline take turns within each iteration, in a new
 * random order each time, so machine noise hits them alike; before each
 * turn the bench yields its CPU, so that work a server left over from the
 * turn before (the daemon's end of a closed connection, when it did not
 * preempt us at close()) is counted in no turn rather than in whichever
 * comes next.
 *
 * The baseline's server is a forked child, a separate process like the
 * daemon: accept, read the request, write it back, wait for the client's
 * close.  Blocking calls, no event loop: the least any server can do.
 *
 * Two figures explain what no module can avoid, and are printed beside the
 * others: pam_acct_mgmt through pam_permit is libpam's own part (dispatch,
 * and, as root, an audit record sent to the kernel and acknowledged), and
 * one syslog(3) line is what logging a decision costs (pam_callrole logs
 * every decision, pam_succeed_if every success).  Their sum with the
 * baseline is printed as the floor of any module that asks a daemon and
 * logs.  One more turn asks the module's question through libcallrole
 * alone, on a fresh handle with keep-alive off as the module does, so the
 * table shows how much of the module's time is the library and the daemon
 * and how much is PAM around them.
 *
 * Everything runs on one CPU (the bench, the daemon and the echo server
 * inherit the affinity): on these 2-vCPU nested VMs a wakeup across vCPUs
 * costs tens of microseconds when the other vCPU is halted, and where the
 * scheduler happens to put the daemon and the echo server then decides the
 * ratios more than the code does (unpinned runs came out bimodal).  On one
 * CPU every figure is the work done, both processes' included.
 *
 * Usage: bench-pam   (an argument, such as make bench's user count, is ignored)
 * Environment: BENCH_PAM_ITERATIONS (default 6000; 1000 with BENCH_QUICK=1),
 * BENCH_PAM_CPU (default: the CPU the bench starts on; "none": no pinning),
 * BENCH_PAM_USER (default root), CALLROLE_BUILD, CALLROLE_SOURCE.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench-util.h"
#include "workload.h"
#include "callrole-wire.h"
#include "callrole.h"
#include "helper-daemon.h"
#include "macro.h"

enum { STACK_CALLROLE, STACK_SUCCEEDIF, STACK_PERMIT, _STACK_MAX };

static const char *const stack_service[_STACK_MAX] = { "callrole", "succeedif", "permit" };
static const char *const stack_label[_STACK_MAX] = { "pam_callrole", "pam_succeed_if", "pam_permit" };

/* The daemon to stop and whose folder to remove if we die. */
static TestDaemon *running;

_printf_(1, 2) static _Noreturn void die(const char *format, ...) {
        va_list ap;

        fputs("bench-pam: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (running)
                test_daemon_cleanup(running);
        exit(1);
}

static void pin(void) {
        const char *e = getenv("BENCH_PAM_CPU");
        int cpu = sched_getcpu();
        cpu_set_t set;

        if (e && strcmp(e, "none") == 0)
                return;
        if (e && *e) {
                char *end;
                long v;
                errno = 0;
                v = strtol(e, &end, 10);
                if (errno || *end || v < 0 || v >= CPU_SETSIZE)
                        die("BENCH_PAM_CPU=%s: give a CPU number below %d, or none", e, CPU_SETSIZE);
                cpu = (int) v;
        }
        if (cpu < 0 || cpu >= CPU_SETSIZE)
                die("cannot pin to CPU %d", cpu);
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
                die("cannot pin to CPU %d: %m", cpu);
        fprintf(stderr, "bench-pam: bench, callroled and echo server pinned to CPU %d\n", cpu);
}

/* ---- the baseline ------------------------------------------------------ */

static _Noreturn void echo_server(int listen_fd, size_t frame) {
        char buf[4096], sink[64];

        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                if (work_read_exact(fd, buf, frame) == 0 && write(fd, buf, frame) == (ssize_t) frame)
                        /* Like the daemon, close only once the client has. */
                        while (read(fd, sink, sizeof sink) > 0)
                                ;
                close(fd);
        }
}

static pid_t echo_start(const char *path, size_t frame) {
        int fd = work_listen(path);
        pid_t pid;

        if (fd < 0)
                die("echo socket %s: %s", path, strerror(-fd));
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                /* A bench that dies must not leave its server behind. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                echo_server(fd, frame);
        }
        close(fd);
        return pid;
}

static double echo_once(const char *path, const uint8_t *frame, size_t size) {
        uint8_t buf[4096];
        double t0;
        int fd;

        t0 = bench_now_us();
        fd = work_connect(path);
        if (fd < 0)
                die("echo connect: %s", strerror(-fd));
        if (write(fd, frame, size) != (ssize_t) size || work_read_exact(fd, buf, size) < 0)
                die("echo round trip failed");
        close(fd);
        return bench_now_us() - t0;
}

/* The bytes libcallrole sends for callrole_check(user, "login"): the same
 * wire functions, so the baseline moves exactly as many. */
static size_t check_frame(const char *user, uint8_t *out, size_t size) {
        struct cr_buf b;
        size_t n;

        cr_buf_init(&b, size);
        cr_frame_begin(&b, CR_MSG_CHECK, 1);
        cr_put_prefix(&b, 0, NULL);
        cr_put_check(&b, user, "login", NULL, NULL, NULL, 0);
        if (cr_frame_end(&b) < 0)
                die("cannot build a check frame");
        n = b.len;
        memcpy(out, b.data, n);
        cr_buf_done(&b);
        return n;
}

/* The question pam_callrole asks, through libcallrole as the module asks
 * it (a fresh handle, keep-alive off) but without PAM around it: how much of
 * the module's pam_acct_mgmt is the library and the daemon. */
static double library_once(const char *socket_path, const char *user) {
        callrole_decision *dec = NULL;
        callrole *c = NULL;
        double t0 = bench_now_us();
        int r;

        r = callrole_new(&c);
        if (r >= 0)
                r = callrole_set_socket(c, socket_path);
        if (r >= 0)
                r = callrole_set_keep_alive(c, 0);
        if (r >= 0)
                r = callrole_check(c, user, "login", NULL, NULL, 0, &dec);
        if (r <= 0)
                die("callrole_check(%s, login) on a fresh connection: %s", user,
                    r < 0 ? callrole_strerror(r) : "denied");
        callrole_decision_free(dec);
        callrole_free(c);
        return bench_now_us() - t0;
}

/* ---- PAM --------------------------------------------------------------- */

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp, void *userdata) {
        /* An allowed user gets no message; answer anything with nothing. */
        *resp = calloc((size_t) n, sizeof **resp);
        return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

_printf_(3, 4) static void write_service(const char *confdir, const char *name, const char *format, ...) {
        char path[PATH_MAX];
        va_list ap;
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", confdir, name);
        f = fopen(path, "we");
        if (!f)
                die("%s: %m", path);
        va_start(ap, format);
        vfprintf(f, format, ap);
        va_end(ap);
        if (fclose(f) != 0)
                die("%s: %m", path);
}

/* One whole transaction; its time in *whole, pam_acct_mgmt's in *acct. */
static void transaction(const char *confdir, const char *service, const char *user, double *whole, double *acct) {
        struct pam_conv conv = { conversation, NULL };
        pam_handle_t *h = NULL;
        double t0, t1, t2, t3;
        int r;

        t0 = bench_now_us();
        r = pam_start_confdir(service, user, &conv, confdir, &h);
        if (r != PAM_SUCCESS)
                die("pam_start_confdir(%s): %s", service, pam_strerror(NULL, r));
        t1 = bench_now_us();
        r = pam_acct_mgmt(h, 0);
        t2 = bench_now_us();
        if (r != PAM_SUCCESS)
                die("pam_acct_mgmt(%s) for %s: %s", service, user, pam_strerror(h, r));
        pam_end(h, r);
        t3 = bench_now_us();
        *whole = t3 - t0;
        *acct = t2 - t1;
}

/* One line as pam_callrole logs an allowed login, through the same syslog(3)
 * that pam_syslog() ends in. */
static double syslog_once(const char *user) {
        double t0 = bench_now_us();

        syslog(LOG_AUTHPRIV | LOG_INFO,
               "pam_callrole(callrole:account): allow user=%s service=callrole permission=login account=default "
               "role=call-agent reason=none", user);
        return bench_now_us() - t0;
}

/* ---- setup ------------------------------------------------------------- */

static void must(int r, callrole *c, const char *what) {
        if (r < 0)
                die("%s: %s (%s)", what, callrole_strerror(r), c && callrole_last_error(c) ? callrole_last_error(c) : "");
}

static void load_model(const TestDaemon *d, const char *user) {
        callrole *c = NULL;

        must(callrole_new(&c), NULL, "callrole_new");
        must(callrole_set_socket(c, d->socket), c, "socket");
        must(test_daemon_call(c, "profile.load", "name", "ctm", NULL), c, "profile.load ctm");
        must(test_daemon_call(c, "user.add", "name", user, "role", "call-agent", "account", "default", NULL), c,
             "user.add");
        callrole_free(c);
}

static void row(const char *figure, double measured, const char *baseline_label, double baseline, const char *target) {
        printf("| 4 PAM | %s | %.1f µs | %.1f µs (%s) | %.2f | %s |\n", figure, measured, baseline, baseline_label,
               measured / baseline, target);
}

int main(int argc, char **argv) {
        const bool quick = bench_quick();
        size_t iters = quick ? 1000 : 6000, warmup = quick ? 100 : 300;
        const char *user = getenv("BENCH_PAM_USER");
        char module[PATH_MAX], confdir[PATH_MAX + 16], echo_path[PATH_MAX + 16], group[256], label[64];
        /* Per stack: whole transactions, then pam_acct_mgmt alone; then the
         * echo baseline, the syslog line and the library alone. */
        enum { SERIES_ECHO = 2 * _STACK_MAX, SERIES_SYSLOG, SERIES_LIBRARY, _SERIES_MAX };
        double *v[_SERIES_MAX];
        BenchStats st[_SERIES_MAX], b;
        uint8_t frame[4096];
        size_t frame_len;
        struct passwd *pw;
        struct group *gr;
        TestDaemon d;
        uint64_t rng = 1;
        pid_t echo;
        int r;

        if (getenv("BENCH_PAM_ITERATIONS") && strtoul(getenv("BENCH_PAM_ITERATIONS"), NULL, 10) > 0)
                iters = strtoul(getenv("BENCH_PAM_ITERATIONS"), NULL, 10);
        if (!user || !*user)
                user = "root";
        pw = getpwnam(user);
        if (!pw)
                die("%s is not a Unix user here; set BENCH_PAM_USER to one", user);
        gr = getgrgid(pw->pw_gid);
        if (!gr)
                die("%s's group %u has no name", user, (unsigned) pw->pw_gid);
        snprintf(group, sizeof group, "%s", gr->gr_name);
        if (!realpath(test_build_dir(), module))
                die("build folder %s: %m", test_build_dir());
        strncat(module, "/pam_callrole.so", sizeof module - strlen(module) - 1);
        if (access(module, R_OK) < 0)
                die("%s: %m (make it first)", module);
        for (int i = 0; i < _SERIES_MAX; i++) {
                v[i] = calloc(iters, sizeof(double));
                if (!v[i])
                        die("out of memory");
        }

        pin();
        r = test_daemon_start(&d, NULL);
        if (r < 0)
                die("cannot start callroled from %s: %s", test_build_dir(), strerror(-r));
        running = &d;
        load_model(&d, user);

        snprintf(confdir, sizeof confdir, "%s/pam.d", d.dir);
        if (mkdir(confdir, 0700) < 0)
                die("%s: %m", confdir);
        write_service(confdir, "callrole", "account required %s socket=%s\n", module, d.socket);
        write_service(confdir, "succeedif", "account required pam_succeed_if.so user ingroup %s\n", group);
        write_service(confdir, "permit", "account required pam_permit.so\n");
        write_service(confdir, "other", "auth required pam_deny.so\naccount required pam_deny.so\n"
                                        "password required pam_deny.so\nsession required pam_deny.so\n");

        frame_len = check_frame(user, frame, sizeof frame);
        snprintf(echo_path, sizeof echo_path, "%s/echo.sock", d.dir);
        echo = echo_start(echo_path, frame_len);

        fprintf(stderr, "bench-pam: user %s (group %s), check frame %zu bytes, %zu iterations%s\n", user, group,
                frame_len, iters, quick ? " (quick)" : "");
        for (size_t i = 0; i < warmup + iters; i++) {
                size_t k = i < warmup ? 0 : i - warmup;
                enum { TURNS = _STACK_MAX + 3 };
                int order[TURNS];

                /* A fresh random order each iteration: nothing always
                 * follows the same one. */
                for (int j = 0; j < TURNS; j++)
                        order[j] = j;
                for (int j = TURNS - 1; j > 0; j--) {
                        int o, q;
                        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                        q = (int) ((rng >> 33) % (uint64_t) (j + 1));
                        o = order[j];
                        order[j] = order[q];
                        order[q] = o;
                }
                for (int j = 0; j < TURNS; j++) {
                        int s = order[j];
                        double x, y = 0;

                        /* What a server still has to do for the previous
                         * turn (the daemon's end of a closed connection)
                         * runs now, on our CPU, not inside the next
                         * turn's timing. */
                        sched_yield();

                        if (s == _STACK_MAX)
                                x = echo_once(echo_path, frame, frame_len);
                        else if (s == _STACK_MAX + 1)
                                x = syslog_once(user);
                        else if (s == _STACK_MAX + 2)
                                x = library_once(d.socket, user);
                        else
                                transaction(confdir, stack_service[s], user, &x, &y);
                        if (i < warmup)
                                continue;
                        if (s < _STACK_MAX) {
                                v[2 * s][k] = x;
                                v[2 * s + 1][k] = y;
                        } else
                                v[SERIES_ECHO + s - _STACK_MAX][k] = x;
                }
        }
        for (int i = 0; i < _SERIES_MAX; i++)
                st[i] = bench_stats(v[i], iters, 0);
        b = st[SERIES_ECHO];

#define WHOLE(s) st[2 * (s)]
#define ACCT(s) st[2 * (s) + 1]
        row("transaction p50, pam_callrole", WHOLE(STACK_CALLROLE).p50, "pam_succeed_if",
            WHOLE(STACK_SUCCEEDIF).p50, "≤ 1.3");
        row("transaction p99, pam_callrole", WHOLE(STACK_CALLROLE).p99, "pam_succeed_if",
            WHOLE(STACK_SUCCEEDIF).p99, "—");
        row("transaction p50, pam_permit", WHOLE(STACK_PERMIT).p50, "pam_succeed_if", WHOLE(STACK_SUCCEEDIF).p50, "—");
        row("pam_acct_mgmt p50, pam_callrole", ACCT(STACK_CALLROLE).p50, "connect + 1 round trip", b.p50, "≤ 1.5");
        row("pam_acct_mgmt p99, pam_callrole", ACCT(STACK_CALLROLE).p99, "connect + 1 round trip", b.p99, "—");
        for (int s = STACK_SUCCEEDIF; s < _STACK_MAX; s++) {
                snprintf(label, sizeof label, "pam_acct_mgmt p50, %s", stack_label[s]);
                row(label, ACCT(s).p50, "connect + 1 round trip", b.p50, "—");
        }
        row("pam_acct_mgmt p50, pam_callrole minus pam_permit", ACCT(STACK_CALLROLE).p50 - ACCT(STACK_PERMIT).p50,
            "connect + 1 round trip", b.p50, "—");
        row("one syslog(3) line p50", st[SERIES_SYSLOG].p50, "connect + 1 round trip", b.p50, "—");
        row("callrole_check p50 on a fresh connection, no PAM", st[SERIES_LIBRARY].p50, "connect + 1 round trip",
            b.p50, "—");
        /* What any module that asks a daemon and logs its decision costs at
         * the least, under this libpam: libpam's own part, one syslog line
         * and one connect and round trip (a sum of medians, so an estimate). */
        row("floor of a daemon-backed module that logs: pam_permit + syslog + connect + round trip, p50s summed",
            ACCT(STACK_PERMIT).p50 + st[SERIES_SYSLOG].p50 + b.p50, "connect + 1 round trip", b.p50, "—");

        {
                double rw = WHOLE(STACK_CALLROLE).p50 / WHOLE(STACK_SUCCEEDIF).p50;
                double ra = ACCT(STACK_CALLROLE).p50 / b.p50;
                printf("TARGET %s PAM transaction p50, pam_callrole / pam_succeed_if: %.2f ≤ 1.3\n",
                       rw <= 1.3 ? "PASS" : "FAIL", rw);
                printf("TARGET %s pam_acct_mgmt p50, pam_callrole / (connect + 1 round trip): %.2f ≤ 1.5\n",
                       ra <= 1.5 ? "PASS" : "FAIL", ra);
        }
#undef WHOLE
#undef ACCT

        kill(echo, SIGTERM);
        (void) waitpid(echo, NULL, 0);
        running = NULL;
        test_daemon_cleanup(&d);
        for (int i = 0; i < _SERIES_MAX; i++)
                free(v[i]);
        return 0;
}
