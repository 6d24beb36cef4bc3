/*
 * test-systemd.c: callroled as systemd runs it, without needing systemd as
 * PID 1.  Every test starts the real callroled binary ($CALLROLE_BUILD)
 * and plays the part of the service manager itself:
 *
 *   - socket activation through systemd-socket-activate, which holds the
 *     listening socket and execs the daemon on the first connection, as
 *     callrole.socket does;
 *   - a NOTIFY_SOCKET datagram socket this test binds and reads, so the
 *     READY=1 / RELOADING=1 / STOPPING=1 / STATUS= / WATCHDOG=1 messages
 *     are checked in the order the daemon sent them (the sender's pid comes
 *     from SCM_CREDENTIALS, so a message from anyone else is noticed);
 *   - SIGHUP and SIGTERM as "systemctl reload/stop" send them;
 *   - the unit files themselves, through systemd-analyze verify and
 *     systemd-analyze security (which must rate the service at 2.0 or less).
 *
 * The real-systemd test (systemd-nspawn, a Debian 12 container, PAM) is
 * tests/check-systemd.sh; it is slow and needs root, these are quick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callrole.h"
#include "callrole-wire.h"
#include "helper-daemon.h"

#define START_TIMEOUT_MS 5000
#define TRANSCRIPT_MAX 512

/* ---- what a failed test leaves behind ------------------------------------- */

/* A failed assertion jumps straight out of the test, so every daemon it
 * started is recorded here and killed by the teardown, and its folder is
 * named for inspection. */
static pid_t spawned[32];
static size_t n_spawned;
/* Copies, not pointers: the Scratch and Transcript of a test live on its
 * stack, which is gone (and reused) by the time teardown() runs after a
 * failed assertion jumped out of it. */
static char live_dirs[8][64];
static int live_transcript_fd = -1;
static char live_transcript_path[108];
static struct callrole *live_client;

static void remember_pid(pid_t pid) {
        if (n_spawned < sizeof(spawned) / sizeof(spawned[0]))
                spawned[n_spawned++] = pid;
}

static void remember_dir(const char *dir, bool live) {
        for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
                if (live ? !live_dirs[i][0] : strcmp(live_dirs[i], dir) == 0) {
                        if (live)
                                snprintf(live_dirs[i], sizeof(live_dirs[i]), "%s", dir);
                        else
                                live_dirs[i][0] = 0;
                        return;
                }
}

static int teardown(void **state) {
        for (size_t i = 0; i < n_spawned; i++) {
                int status;
                if (waitpid(spawned[i], &status, WNOHANG) == 0) {
                        kill(spawned[i], SIGKILL);
                        (void) waitpid(spawned[i], &status, 0);
                }
        }
        n_spawned = 0;
        /* The failed test's messages are lost with its stack: only the
         * socket is closed and removed. */
        if (live_transcript_fd >= 0) {
                close(live_transcript_fd);
                (void) unlink(live_transcript_path);
                live_transcript_fd = -1;
        }
        live_client = callrole_free(live_client);
        for (size_t i = 0; i < sizeof(live_dirs) / sizeof(live_dirs[0]); i++)
                if (live_dirs[i][0]) {
                        fprintf(stderr, "left for inspection: %s (daemon.log)\n", live_dirs[i]);
                        live_dirs[i][0] = 0;
                }
        return 0;
}

/* ---- scratch folder ------------------------------------------------------- */

typedef struct Scratch {
        char dir[64];
        char socket[128];
        char db[128];
        char notify[128];
        char log[128];
        char config[128];
} Scratch;

static void scratch_init(Scratch *s) {
        char tmpl[] = "/tmp/callrole-sd.XXXXXX";

        memset(s, 0, sizeof(*s));
        assert_non_null(mkdtemp(tmpl));
        snprintf(s->dir, sizeof(s->dir), "%s", tmpl);
        snprintf(s->socket, sizeof(s->socket), "%s/socket", s->dir);
        snprintf(s->db, sizeof(s->db), "%s/roles.db", s->dir);
        snprintf(s->notify, sizeof(s->notify), "%s/notify", s->dir);
        snprintf(s->log, sizeof(s->log), "%s/daemon.log", s->dir);
        snprintf(s->config, sizeof(s->config), "%s/callroled.conf", s->dir);
        remember_dir(s->dir, true);
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf;
        size_t n;

        if (!f)
                return strdup("");
        buf = calloc(1, 1024 * 1024 + 1);
        if (!buf) {
                fclose(f);
                return NULL;
        }
        n = fread(buf, 1, 1024 * 1024, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

/* A daemon built with SANITIZE=1 reports into its log, not to the test. */
static void assert_log_clean(const Scratch *s) {
        char *text = read_file(s->log);
        bool bad = text && (strstr(text, "Sanitizer") || strstr(text, "runtime error:"));
        if (bad)
                fprintf(stderr, "callroled reported a sanitizer error; its log %s:\n%s\n", s->log, text);
        free(text);
        assert_false(bad);
}

static void scratch_done(Scratch *s) {
        assert_log_clean(s);
        remember_dir(s->dir, false);
        if (getenv("CALLROLE_KEEP_TEST_DIRS"))
                fprintf(stderr, "kept %s\n", s->dir);
        else
                test_rm_rf(s->dir);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static bool log_contains(const Scratch *s, const char *needle) {
        char *text = read_file(s->log);
        bool found = text && strstr(text, needle);
        if (!found)
                fprintf(stderr, "daemon log %s lacks \"%s\"; it says:\n%s\n", s->log, needle, text ? text : "");
        free(text);
        return found;
}

/* Lines of the daemon's log containing needle. */
static size_t log_count(const Scratch *s, const char *needle) {
        char *text = read_file(s->log);
        size_t n = 0;
        for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
                n++;
        free(text);
        return n;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- the NOTIFY_SOCKET side of the service manager ------------------------ */

/* Invariant: msgs[0..n) are the messages received so far, in arrival
 * order, from pid; messages from anyone else only count in foreign. */
typedef struct Transcript {
        int fd;
        char path[108];
        pid_t pid;
        char *msgs[TRANSCRIPT_MAX];
        size_t n;
        unsigned foreign;
} Transcript;

static void transcript_open(Transcript *t, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1;

        memset(t, 0, sizeof(*t));
        assert_true(strlen(path) < sizeof(sa.sun_path));
        snprintf(t->path, sizeof(t->path), "%s", path);
        memcpy(sa.sun_path, path, strlen(path));
        t->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(t->fd >= 0);
        assert_int_equal(setsockopt(t->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        assert_int_equal(bind(t->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        live_transcript_fd = t->fd;
        snprintf(live_transcript_path, sizeof(live_transcript_path), "%s", t->path);
}

static void transcript_close(Transcript *t) {
        live_transcript_fd = -1;
        if (t->fd >= 0) {
                close(t->fd);
                (void) unlink(t->path);
        }
        for (size_t i = 0; i < t->n; i++)
                free(t->msgs[i]);
        t->n = 0;
        t->fd = -1;
}

/* Reads what is there, waiting at most timeout_ms for the first datagram. */
static void transcript_pump(Transcript *t, int timeout_ms) {
        for (;;) {
                struct pollfd p = { .fd = t->fd, .events = POLLIN };
                char buf[4096];
                union {
                        struct cmsghdr h;
                        uint8_t space[CMSG_SPACE(sizeof(struct ucred))];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                pid_t sender = -1;
                ssize_t n;

                if (poll(&p, 1, timeout_ms) <= 0)
                        return;
                n = recvmsg(t->fd, &mh, MSG_DONTWAIT);
                if (n < 0)
                        return;
                buf[n] = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                                struct ucred u;
                                memcpy(&u, CMSG_DATA(c), sizeof(u));
                                sender = u.pid;
                        }
                if (sender != t->pid) {
                        fprintf(stderr, "notify message from pid %d, not the daemon (%d): %s\n", (int) sender,
                                (int) t->pid, buf);
                        t->foreign++;
                } else if (t->n < TRANSCRIPT_MAX)
                        t->msgs[t->n++] = strdup(buf);
                timeout_ms = 0;
        }
}

/* A message holds want as a whole line ("READY=1"), or, when want ends in
 * '=', a line starting with it ("STATUS="). */
static const char *msg_line(const char *msg, const char *want) {
        size_t wl = strlen(want);
        bool prefix = wl > 0 && want[wl - 1] == '=';

        for (const char *l = msg; l && *l;) {
                const char *e = strchr(l, '\n');
                size_t ll = e ? (size_t) (e - l) : strlen(l);
                if (prefix ? ll >= wl && strncmp(l, want, wl) == 0 : ll == wl && strncmp(l, want, wl) == 0)
                        return l;
                l = e ? e + 1 : NULL;
        }
        return NULL;
}

static ssize_t transcript_find(const Transcript *t, size_t from, const char *want) {
        for (size_t i = from; i < t->n; i++)
                if (msg_line(t->msgs[i], want))
                        return (ssize_t) i;
        return -1;
}

static size_t transcript_count(const Transcript *t, size_t from, const char *want) {
        size_t k = 0;
        for (size_t i = from; i < t->n; i++)
                if (msg_line(t->msgs[i], want))
                        k++;
        return k;
}

/* Index of the first message at or after from with want, waiting up to
 * timeout_ms for it; -1 if it never came. */
static ssize_t transcript_wait(Transcript *t, size_t from, const char *want, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t) timeout_ms;
        ssize_t i;

        for (;;) {
                uint64_t now;
                i = transcript_find(t, from, want);
                if (i >= 0)
                        return i;
                now = now_ms();
                if (now >= end)
                        break;
                transcript_pump(t, (int) (end - now));
        }
        fprintf(stderr, "no \"%s\" from the daemon after message %zu within %d ms; it sent:\n", want, from,
                timeout_ms);
        for (size_t k = 0; k < t->n; k++)
                fprintf(stderr, "  [%zu] %s\n", k, t->msgs[k]);
        return -1;
}

/* The value of the STATUS= line in message i, copied. */
static void transcript_status(const Transcript *t, size_t i, char *ret, size_t size) {
        const char *l = msg_line(t->msgs[i], "STATUS=");
        size_t n;

        assert_non_null(l);
        l += strlen("STATUS=");
        n = strcspn(l, "\n");
        assert_true(n < size);
        memcpy(ret, l, n);
        ret[n] = 0;
}

/* ---- starting the daemon as a service manager would ----------------------- */

typedef struct Spawn {
        const char *notify;          /* NOTIFY_SOCKET, or NULL */
        const char *watchdog_usec;   /* WATCHDOG_USEC, or NULL */
        bool watchdog_other_pid;     /* WATCHDOG_PID names someone else */
        bool activate;               /* through systemd-socket-activate -l socket */
        bool no_socket_arg;          /* like ExecStart=: no --socket */
        const char *db;              /* NULL: the scratch database */
        const char *socket;          /* NULL: the scratch socket */
        const char *config;          /* --config, or NULL */
} Spawn;

static pid_t daemon_spawn(const Scratch *s, const Spawn *o) {
        char exe[PATH_MAX], uid[32], profiles[PATH_MAX];
        const char *argv[32];
        size_t n = 0;
        pid_t pid;

        snprintf(exe, sizeof(exe), "%s/callroled", test_build_dir());
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        snprintf(profiles, sizeof(profiles), "%s/profiles", test_source_dir());
        if (o->activate) {
                argv[n++] = "systemd-socket-activate";
                argv[n++] = "-l";
                argv[n++] = o->socket ? o->socket : s->socket;
        }
        argv[n++] = exe;
        if (!o->no_socket_arg) {
                argv[n++] = "--socket";
                argv[n++] = o->socket ? o->socket : s->socket;
        }
        argv[n++] = "--db";
        argv[n++] = o->db ? o->db : s->db;
        argv[n++] = "--admin-uid";
        argv[n++] = uid;
        argv[n++] = "--profile-dir";
        argv[n++] = profiles;
        if (o->config) {
                argv[n++] = "--config";
                argv[n++] = o->config;
        }
        argv[n] = NULL;

        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char self[32];
                int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                /* Only what this test hands over: nothing inherited from a
                 * session that itself runs under systemd. */
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("LISTEN_FDNAMES");
                unsetenv("NOTIFY_SOCKET");
                unsetenv("WATCHDOG_USEC");
                unsetenv("WATCHDOG_PID");
                unsetenv("JOURNAL_STREAM");
                if (o->notify)
                        setenv("NOTIFY_SOCKET", o->notify, 1);
                if (o->watchdog_usec) {
                        /* exec keeps the pid, so this is the daemon's. */
                        snprintf(self, sizeof(self), "%d", o->watchdog_other_pid ? 1 : (int) getpid());
                        setenv("WATCHDOG_USEC", o->watchdog_usec, 1);
                        setenv("WATCHDOG_PID", self, 1);
                }
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        remember_pid(pid);
        return pid;
}

/* Waits up to timeout_ms; returns the exit code, 128+signal, or -1 while
 * it still runs. */
static int daemon_wait(pid_t pid, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t) timeout_ms;
        int status;

        do {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                sleep_ms(10);
        } while (now_ms() < end);
        return -1;
}

/* SIGTERM; returns the exit code (the test fails if it will not stop). */
static int daemon_stop(pid_t pid) {
        int r;
        assert_int_equal(kill(pid, SIGTERM), 0);
        r = daemon_wait(pid, START_TIMEOUT_MS);
        if (r < 0) {
                kill(pid, SIGKILL);
                (void) daemon_wait(pid, START_TIMEOUT_MS);
        }
        return r;
}

static bool socket_answers(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok;

        if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
                if (fd >= 0)
                        close(fd);
                return false;
        }
        memcpy(sa.sun_path, path, strlen(path));
        ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

static void read_comm(pid_t pid, char *ret, size_t size) {
        char path[64];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        ret[0] = 0;
        f = fopen(path, "re");
        if (!f)
                return;
        if (fgets(ret, (int) size, f))
                ret[strcspn(ret, "\n")] = 0;
        fclose(f);
}

/* ---- talking to it through libcallrole ------------------------------------ */

static callrole *client(const char *socket) {
        callrole *c = NULL;
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, socket), 0);
        assert_int_equal(callrole_set_timeout(c, 5ULL * 1000000ULL), 0);
        return c;
}

/* method with KEY, VALUE pairs (NULL-terminated); returns its result. */
static int call(callrole *c, const char *method, ...) __attribute__((sentinel));
static int call(callrole *c, const char *method, ...) {
        callrole_record *p = NULL;
        callrole_reply *rep = NULL;
        va_list ap;
        int r;

        assert_int_equal(callrole_record_new(&p), 0);
        va_start(ap, method);
        for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
                const char *v = va_arg(ap, const char *);
                assert_int_equal(callrole_record_add(p, k, v), 0);
        }
        va_end(ap);
        r = callrole_call(c, method, p, &rep);
        if (r < 0)
                fprintf(stderr, "%s: %s (%s)\n", method, callrole_strerror(r),
                        callrole_last_error(c) ? callrole_last_error(c) : "-");
        callrole_reply_free(rep);
        callrole_record_free(p);
        return r;
}

/* A numeric field of the status record, or -1 on any failure. */
static long status_number(callrole *c, const char *key) {
        callrole_reply *rep = NULL;
        const char *v;
        long n = -1;
        char *end;

        if (callrole_status(c, &rep) < 0)
                return -1;
        if (callrole_reply_n_records(rep) == 1 && (v = callrole_record_get(callrole_reply_record(rep, 0), key))) {
                errno = 0;
                n = strtol(v, &end, 10);
                if (errno || *end || end == v)
                        n = -1;
        }
        callrole_reply_free(rep);
        return n;
}

/* The data the real-systemd test uses too: profile calltracks, agent
 * (calls-only) and noaccess (no-access). */
static void seed(const char *socket) {
        callrole *c = client(socket);
        assert_true(call(c, "profile.load", "name", "calltracks", NULL) >= 0);
        assert_true(call(c, "user.add", "name", "agent", "role", "calls-only", NULL) >= 0);
        assert_true(call(c, "user.add", "name", "noaccess", "role", "no-access", NULL) >= 0);
        callrole_free(c);
}

/* The seeded data is there and decides as it should. */
static void assert_seeded(const char *socket) {
        callrole *c = client(socket);
        callrole_decision *d = NULL;

        assert_int_equal(callrole_check(c, "agent", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(c, "agent", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(c, "noaccess", "login", NULL, NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_NOT_GRANTED);
        assert_string_equal(callrole_decision_role(d), "no-access");
        callrole_decision_free(d);
        assert_int_equal(status_number(c, "users"), 2);
        callrole_free(c);
}

/* Starts a daemon with a notify socket and waits for READY=1. */
static pid_t start_ready(const Scratch *s, Transcript *t, const Spawn *extra) {
        Spawn o = extra ? *extra : (Spawn) {};
        o.notify = s->notify;
        t->pid = daemon_spawn(s, &o);
        if (transcript_wait(t, 0, "READY=1", START_TIMEOUT_MS) < 0) {
                (void) log_contains(s, "(daemon log)");
                fail_msg("callroled did not report READY=1");
        }
        return t->pid;
}

/* ---- 1: socket activation -------------------------------------------------- */

static bool have_program(const char *name) {
        const char *path = getenv("PATH");
        char buf[PATH_MAX];

        if (!path)
                path = "/usr/bin:/bin";
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                if (n > 0 && n + strlen(name) + 2 < sizeof(buf)) {
                        snprintf(buf, sizeof(buf), "%.*s/%s", (int) n, p, name);
                        if (access(buf, X_OK) == 0)
                                return true;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return false;
}

static void test_socket_activation(void **state) {
        Scratch s;
        char comm[64];
        struct stat st = {};
        int stat_result = -1;
        pid_t pid;
        callrole *c;

        if (!have_program("systemd-socket-activate")) {
                fprintf(stderr, "SKIP: systemd-socket-activate is not installed (Debian package systemd)\n");
                skip();
        }
        scratch_init(&s);
        /* ExecStart= has no --socket: the daemon must use what it is given. */
        pid = daemon_spawn(&s, &(Spawn) { .activate = true, .no_socket_arg = true });
        for (uint64_t end = now_ms() + START_TIMEOUT_MS;
             (stat_result = stat(s.socket, &st)) < 0 && now_ms() < end;)
                sleep_ms(10);
        /* st is meaningful only if a stat() succeeded before the deadline. */
        assert_int_equal(stat_result, 0);
        assert_true(S_ISSOCK(st.st_mode));

        /* Nothing has connected yet, so nothing has started: the socket
         * exists and the daemon does not. */
        sleep_ms(100);
        read_comm(pid, comm, sizeof(comm));
        assert_string_equal(comm, "systemd-socket-");   /* comm keeps 15 characters */

        /* The first client starts it and is answered once it is up: its
         * connection waited in the backlog meanwhile. */
        c = client(s.socket);
        assert_int_equal(status_number(c, "peer-uid"), (long) getuid());
        read_comm(pid, comm, sizeof(comm));
        assert_string_equal(comm, "callroled");
        assert_true(log_contains(&s, "the socket passed by systemd"));
        callrole_free(c);

        seed(s.socket);
        assert_seeded(s.socket);

        assert_int_equal(daemon_stop(pid), 0);
        /* The socket belongs to the service manager, not to the daemon:
         * it must not be unlinked on the way out. */
        assert_int_equal(stat(s.socket, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        scratch_done(&s);
}

/* ---- 2: readiness, status, watchdog ---------------------------------------- */

static void test_ready_only_with_database(void **state) {
        static const char garbage[] = "this is not an SQLite database, and the daemon must not serve from it\n";
        Scratch s;
        Transcript t;
        char *after;
        int r;

        scratch_init(&s);
        write_file(s.db, garbage);
        transcript_open(&t, s.notify);
        t.pid = daemon_spawn(&s, &(Spawn) { .notify = s.notify });
        r = daemon_wait(t.pid, START_TIMEOUT_MS);
        if (r < 0)
                kill(t.pid, SIGKILL), (void) daemon_wait(t.pid, START_TIMEOUT_MS);
        assert_true(r > 0);                     /* failed, and did not hang */
        transcript_pump(&t, 0);
        assert_int_equal(transcript_find(&t, 0, "READY=1"), -1);
        assert_int_equal(t.foreign, 0);
        assert_false(socket_answers(s.socket));
        /* Nothing written over the file it could not read. */
        after = read_file(s.db);
        assert_non_null(after);
        assert_string_equal(after, garbage);
        free(after);
        transcript_close(&t);
        scratch_done(&s);
}

static void test_ready_and_status(void **state) {
        Scratch s;
        Transcript t;
        char status[512];
        size_t users, roles, accounts;
        unsigned long long requests;
        ssize_t ready, st;
        callrole *c;

        scratch_init(&s);
        transcript_open(&t, s.notify);
        start_ready(&s, &t, NULL);
        ready = transcript_find(&t, 0, "READY=1");

        /* At READY=1 it answers at once: no retry, no waiting. */
        c = client(s.socket);
        assert_int_equal(callrole_set_timeout(c, 500000), 0);
        assert_true(status_number(c, "roles") >= 0);

        /* A STATUS= a person can read, with the same numbers the status
         * request reports. */
        st = transcript_wait(&t, (size_t) ready, "STATUS=", 1000);
        assert_true(st >= ready);
        transcript_status(&t, (size_t) st, status, sizeof(status));
        assert_int_equal(sscanf(status, "Serving %zu users, %zu roles in %zu accounts; %llu requests", &users,
                                &roles, &accounts, &requests),
                         4);
        assert_int_equal((long) users, status_number(c, "users"));
        assert_int_equal((long) roles, status_number(c, "roles"));
        assert_int_equal((long) accounts, status_number(c, "accounts"));
        callrole_free(c);

        /* Nobody asked for a watchdog, so none is pinged. */
        sleep_ms(400);
        transcript_pump(&t, 0);
        assert_int_equal(transcript_count(&t, 0, "WATCHDOG=1"), 0);
        assert_int_equal(t.foreign, 0);

        assert_int_equal(daemon_stop(t.pid), 0);
        transcript_close(&t);
        scratch_done(&s);
}

static void test_watchdog(void **state) {
        Scratch s;
        Transcript t;
        ssize_t ready;
        size_t pings;

        scratch_init(&s);
        transcript_open(&t, s.notify);
        start_ready(&s, &t, &(Spawn) { .watchdog_usec = "200000" });
        ready = transcript_find(&t, 0, "READY=1");
        /* WatchdogSec=200ms: pings well inside each period, so at least
         * five in a second (sd-event pings every 50-100 ms here). */
        sleep_ms(1000);
        transcript_pump(&t, 0);
        pings = transcript_count(&t, (size_t) ready, "WATCHDOG=1");
        if (pings < 5)
                (void) transcript_wait(&t, 0, "(all messages)", 0);
        assert_true(pings >= 5);
        assert_int_equal(t.foreign, 0);
        assert_int_equal(daemon_stop(t.pid), 0);
        transcript_close(&t);
        scratch_done(&s);

        /* WATCHDOG_PID names another process (the variables were
         * inherited): not ours to ping. */
        scratch_init(&s);
        transcript_open(&t, s.notify);
        start_ready(&s, &t, &(Spawn) { .watchdog_usec = "200000", .watchdog_other_pid = true });
        sleep_ms(600);
        transcript_pump(&t, 0);
        assert_int_equal(transcript_count(&t, 0, "WATCHDOG=1"), 0);
        assert_int_equal(daemon_stop(t.pid), 0);
        transcript_close(&t);
        scratch_done(&s);
}

/* ---- 3: SIGHUP ------------------------------------------------------------- */

/* SIGHUP, then RELOADING=1 and after it READY=1; returns READY's index.
 * Every client waits while the daemon reloads (PAM logins among them), so
 * a small database must reload in well under RELOAD_MAX_MS. */
#define RELOAD_MAX_MS 2000
static size_t reload(Transcript *t) {
        size_t from = t->n;
        ssize_t reloading, ready;

        assert_int_equal(kill(t->pid, SIGHUP), 0);
        reloading = transcript_wait(t, from, "RELOADING=1", START_TIMEOUT_MS);
        assert_true(reloading >= 0);
        ready = transcript_wait(t, (size_t) reloading, "READY=1", RELOAD_MAX_MS);
        assert_true(ready >= reloading);
        /* Not both in one message: systemd must see the reload begin. */
        assert_null(msg_line(t->msgs[reloading], "READY=1"));
        return (size_t) ready;
}

/* With one connection held open, may a second client get an answer? */
static bool second_client_served(const char *socket) {
        callrole *c = client(socket);
        bool ok;
        assert_int_equal(callrole_set_timeout(c, 1000000), 0);
        ok = status_number(c, "users") >= 0;
        callrole_free(c);
        return ok;
}

static void test_sighup(void **state) {
        Scratch s;
        Transcript t;
        char status[512];
        long gen1, gen2;
        size_t ready;
        ssize_t st;
        callrole *held;

        scratch_init(&s);
        write_file(s.config, "# callroled settings\nlog-level = info\n");
        transcript_open(&t, s.notify);
        start_ready(&s, &t, &(Spawn) { .config = s.config });
        seed(s.socket);
        held = live_client = client(s.socket);
        gen1 = status_number(held, "generation");
        assert_true(gen1 > 0);

        ready = reload(&t);
        st = transcript_wait(&t, ready, "STATUS=", 1000);
        assert_true(st >= 0);
        transcript_status(&t, (size_t) st, status, sizeof(status));
        assert_non_null(strstr(status, "Serving 2 users"));
        /* The database was read again (a new generation), the data kept,
         * and a connection made before the reload still served. */
        gen2 = status_number(held, "generation");
        assert_true(gen2 > gen1);
        assert_seeded(s.socket);
        assert_int_equal(callrole_check(held, "agent", "calls.view", NULL, NULL, 0, NULL), 1);

        /* The configuration is read again too.  Allowed checks are logged
         * only at log-level debug, so the log shows which level is in force.
         * (max-connections cannot show it from here: these clients are
         * root, who has slots of its own beyond the total.) */
        size_t before = log_count(&s, "check agent calls.view");
        assert_int_equal(callrole_check(held, "agent", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(log_count(&s, "check agent calls.view"), before);
        write_file(s.config, "log-level = debug\n");
        (void) reload(&t);
        assert_int_equal(callrole_check(held, "agent", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(log_count(&s, "check agent calls.view"), before + 1);

        /* A broken file is refused whole: the daemon stays up, and what
         * was in force (debug) stays in force. */
        write_file(s.config, "log-level = info\nno-such-setting = 1\n");
        (void) reload(&t);
        assert_true(log_contains(&s, "unknown setting 'no-such-setting'"));
        assert_int_equal(kill(t.pid, 0), 0);
        assert_true(status_number(held, "users") == 2);
        assert_int_equal(callrole_check(held, "agent", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(log_count(&s, "check agent calls.view"), before + 2);

        /* Another client is served beside the held connection. */
        live_client = callrole_free(held);
        assert_true(second_client_served(s.socket));
        assert_seeded(s.socket);

        assert_int_equal(t.foreign, 0);
        assert_int_equal(daemon_stop(t.pid), 0);
        transcript_close(&t);
        scratch_done(&s);
}

/* ---- 4: SIGTERM ------------------------------------------------------------ */

/* A raw connection speaking the wire protocol directly: the test must know
 * that a request's bytes are in the daemon's receive queue before it sends
 * SIGTERM, which a library call in another thread cannot prove. */
static int raw_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

/* Writes one CHECK frame whole: when this returns, every byte of it sits in
 * the daemon's receive queue (a Unix stream socket has no wire in between). */
static void raw_send_check(int fd, uint32_t id, const char *user, const char *perm) {
        struct cr_buf b;
        size_t done = 0;

        cr_buf_init(&b, CR_HEADER_SIZE + CR_REQUEST_MAX);
        cr_frame_begin(&b, CR_MSG_CHECK, id);
        cr_put_prefix(&b, 0, "");
        cr_put_check(&b, user, perm, "", NULL, NULL, 0);
        assert_int_equal(cr_frame_end(&b), 0);
        while (done < b.len) {
                ssize_t n = send(fd, b.data + done, b.len - done, MSG_NOSIGNAL);
                assert_true(n > 0);
                done += (size_t) n;
        }
        cr_buf_done(&b);
}

static void read_full(int fd, uint8_t *buf, size_t len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        for (size_t done = 0; done < len;) {
                ssize_t n;

                assert_int_equal(poll(&p, 1, START_TIMEOUT_MS), 1);
                n = read(fd, buf + done, len - done);
                assert_true(n > 0);     /* EOF means the request was dropped */
                done += (size_t) n;
        }
}

/* Reads one DECISION reply for request id and returns its "allowed" byte. */
static int raw_read_decision(int fd, uint32_t id) {
        uint8_t hdr[CR_HEADER_SIZE], *payload;
        struct cr_header h;
        struct cr_cursor cur;
        struct cr_decision d = {};
        int allowed;

        read_full(fd, hdr, sizeof(hdr));
        assert_int_equal(cr_header_decode(hdr, sizeof(hdr), CR_REPLY_MAX, &h), 0);
        assert_int_equal(h.type, CR_MSG_DECISION);
        assert_int_equal(h.id, id);
        payload = malloc(h.length ? h.length : 1);
        assert_non_null(payload);
        read_full(fd, payload, h.length);
        cr_cursor_init(&cur, payload, h.length);
        assert_int_equal(cr_get_decision(&cur, &d), 0);
        assert_int_equal(cr_cursor_end(&cur), 0);
        allowed = d.allowed;
        cr_decision_clear(&d);
        free(payload);
        return allowed;
}

static void assert_database_intact(const char *path) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

static void test_sigterm(void **state) {
        Scratch s;
        Transcript t;
        struct stat st;
        ssize_t stopping;
        int fd;

        scratch_init(&s);
        transcript_open(&t, s.notify);
        start_ready(&s, &t, NULL);
        seed(s.socket);

        /* A request already sent when SIGTERM arrives is answered.  The
         * connection is proven accepted by a first answered request; then
         * the daemon is frozen, the second request is written whole into
         * its receive queue, and only then is it signalled. */
        fd = raw_connect(s.socket);
        raw_send_check(fd, 1, "agent", "calls.view");
        assert_int_equal(raw_read_decision(fd, 1), 1);
        assert_int_equal(kill(t.pid, SIGSTOP), 0);
        raw_send_check(fd, 2, "agent", "calls.view");
        assert_int_equal(kill(t.pid, SIGTERM), 0);
        assert_int_equal(kill(t.pid, SIGCONT), 0);
        assert_int_equal(raw_read_decision(fd, 2), 1);
        close(fd);

        assert_int_equal(daemon_wait(t.pid, START_TIMEOUT_MS), 0);
        transcript_pump(&t, 0);
        stopping = transcript_find(&t, 0, "STOPPING=1");
        assert_true(stopping > transcript_find(&t, 0, "READY=1"));
        assert_int_equal(t.foreign, 0);
        /* It bound the socket itself, so it removes it; the database is
         * closed whole. */
        assert_int_equal(stat(s.socket, &st), -1);
        assert_int_equal(errno, ENOENT);
        assert_database_intact(s.db);

        transcript_close(&t);
        transcript_open(&t, s.notify);
        start_ready(&s, &t, NULL);
        assert_seeded(s.socket);
        assert_int_equal(daemon_stop(t.pid), 0);
        transcript_close(&t);
        scratch_done(&s);
}

/* ---- 5: a socket file left behind ----------------------------------------- */

static void test_stale_socket(void **state) {
        static const char not_a_socket[] = "a file someone keeps here\n";
        Scratch s;
        Transcript t;
        struct stat st1, st2;
        char other_db[160], file_path[160], *text;
        pid_t pid;

        scratch_init(&s);
        transcript_open(&t, s.notify);
        start_ready(&s, &t, NULL);
        seed(s.socket);
        assert_int_equal(kill(t.pid, SIGKILL), 0);
        assert_int_equal(daemon_wait(t.pid, START_TIMEOUT_MS), 128 + SIGKILL);
        assert_int_equal(stat(s.socket, &st1), 0);     /* left behind */
        assert_true(S_ISSOCK(st1.st_mode));
        assert_false(socket_answers(s.socket));
        transcript_close(&t);

        transcript_open(&t, s.notify);
        start_ready(&s, &t, NULL);
        assert_seeded(s.socket);
        assert_int_equal(stat(s.socket, &st1), 0);

        /* A live daemon's socket is not taken over: a second one (with its
         * own database, so it gets that far) refuses to start. */
        snprintf(other_db, sizeof(other_db), "%s/other.db", s.dir);
        pid = daemon_spawn(&s, &(Spawn) { .db = other_db });
        assert_true(daemon_wait(pid, START_TIMEOUT_MS) > 0);
        assert_true(log_contains(&s, "already answering"));
        assert_int_equal(stat(s.socket, &st2), 0);
        assert_true(st1.st_ino == st2.st_ino);
        assert_seeded(s.socket);

        /* Nor is a file that is not a socket removed. */
        snprintf(file_path, sizeof(file_path), "%s/not-a-socket", s.dir);
        write_file(file_path, not_a_socket);
        pid = daemon_spawn(&s, &(Spawn) { .db = other_db, .socket = file_path });
        assert_true(daemon_wait(pid, START_TIMEOUT_MS) > 0);
        text = read_file(file_path);
        assert_string_equal(text, not_a_socket);
        free(text);

        assert_int_equal(daemon_stop(t.pid), 0);
        transcript_close(&t);
        scratch_done(&s);
}

/* ---- 6: the unit files ----------------------------------------------------- */

/* Runs argv, returns its exit code and (merged stdout and stderr) output. */
static int run_capture(const char *const *argv, char **ret_out) {
        int p[2], status;
        char *buf = NULL;
        size_t len = 0, cap = 0;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                dup2(p[1], STDERR_FILENO);
                /* No pager, no colour, no systemd-analyze trying a tty. */
                setenv("SYSTEMD_PAGER", "cat", 1);
                setenv("SYSTEMD_COLORS", "0", 1);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(p[1]);
        for (;;) {
                ssize_t n;
                if (cap - len < 4097) {
                        char *nb = realloc(buf, cap ? cap * 2 : 16384);
                        assert_non_null(nb);
                        buf = nb;
                        cap = cap ? cap * 2 : 16384;
                }
                n = read(p[0], buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        *ret_out = buf;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Copies a source file into the scratch folder, replacing the line
 * starting with from_prefix by to (when both are given), or dropping
 * every line starting with one of drop[]. */
static void copy_unit(const char *src, const char *dst, const char *from_prefix, const char *to,
                      const char *const *drop) {
        FILE *in = fopen(src, "re"), *out;
        char line[4096];

        assert_non_null(in);
        out = fopen(dst, "we");
        assert_non_null(out);
        while (fgets(line, sizeof(line), in)) {
                bool skip_line = false;
                for (size_t i = 0; drop && drop[i]; i++)
                        if (strncmp(line, drop[i], strlen(drop[i])) == 0)
                                skip_line = true;
                if (skip_line)
                        continue;
                if (from_prefix && strncmp(line, from_prefix, strlen(from_prefix)) == 0)
                        fprintf(out, "%s\n", to);
                else
                        fputs(line, out);
        }
        fclose(in);
        assert_int_equal(fclose(out), 0);
}

/* The figure from "Overall exposure level for callrole.service: 0.5 SAFE". */
static double exposure(const char *out) {
        const char *p = strstr(out, "Overall exposure level for callrole.service:");
        double v = -1;
        if (p && sscanf(p, "Overall exposure level for callrole.service: %lf", &v) == 1)
                return v;
        return -1;
}

/* KEY=VALUE as a whole line of the file. */
static bool unit_has(const char *text, const char *line) {
        size_t n = strlen(line);
        for (const char *p = text; (p = strstr(p, line)); p += n)
                if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
                        return true;
        return false;
}

static void test_unit_files(void **state) {
        Scratch s;
        char src_socket[PATH_MAX], src_service[PATH_MAX], src_sysusers[PATH_MAX];
        char socket_unit[192], service_unit[192], weak_unit[192], exec[PATH_MAX + 16], exe[PATH_MAX];
        char root[256], listen[160];
        char *out = NULL, *text;
        double level;
        int r;

        snprintf(src_socket, sizeof(src_socket), "%s/systemd/callrole.socket", test_source_dir());
        snprintf(src_service, sizeof(src_service), "%s/systemd/callrole.service", test_source_dir());
        snprintf(src_sysusers, sizeof(src_sysusers), "%s/systemd/callrole.sysusers", test_source_dir());

        /* What the files say, against what the code assumes. */
        text = read_file(src_socket);
        snprintf(listen, sizeof(listen), "ListenStream=%s", CALLROLE_SOCKET_DEFAULT);
        assert_true(unit_has(text, listen));
        assert_true(unit_has(text, "SocketMode=0666"));
        assert_true(unit_has(text, "RemoveOnStop=yes"));
        assert_true(unit_has(text, "WantedBy=sockets.target"));
        free(text);
        text = read_file(src_service);
        assert_true(unit_has(text, "Type=notify"));
        assert_true(unit_has(text, "ExecStart=/usr/sbin/callroled"));
        assert_true(unit_has(text, "User=callrole"));
        assert_true(unit_has(text, "StateDirectory=callrole"));
        assert_true(unit_has(text, "CapabilityBoundingSet="));
        assert_true(unit_has(text, "PrivateNetwork=yes"));
        assert_true(unit_has(text, "RestrictAddressFamilies=AF_UNIX"));
        assert_non_null(strstr(text, "\nWatchdogSec="));
        /* Peers must keep their real uids (SO_PEERCRED), and /run/callrole
         * is the socket unit's. */
        assert_null(strstr(text, "\nPrivateUsers=yes"));
        assert_null(strstr(text, "\nPrivateUsers=true"));
        assert_null(strstr(text, "\nRuntimeDirectory="));
        free(text);
        /* StateDirectory=callrole is where the daemon's default database is. */
        {
                const char *argv[] = { exe, "--help", NULL };
                snprintf(exe, sizeof(exe), "%s/callroled", test_build_dir());
                assert_int_equal(run_capture(argv, &out), 0);
                assert_non_null(strstr(out, "/var/lib/callrole/roles.db"));
                assert_non_null(strstr(out, CALLROLE_SOCKET_DEFAULT));
                free(out);
        }

        if (!have_program("systemd-analyze")) {
                fprintf(stderr, "SKIP: systemd-analyze is not installed (Debian package systemd); "
                                "the unit files were only read, not verified\n");
                skip();
        }
        scratch_init(&s);
        snprintf(socket_unit, sizeof(socket_unit), "%s/callrole.socket", s.dir);
        snprintf(service_unit, sizeof(service_unit), "%s/callrole.service", s.dir);
        snprintf(weak_unit, sizeof(weak_unit), "%s/weak/callrole.service", s.dir);
        /* verify checks that ExecStart= exists: where callroled is not
         * installed, point it at the one just built. */
        assert_non_null(realpath(exe, exec + strlen("ExecStart=")));
        memcpy(exec, "ExecStart=", strlen("ExecStart="));
        copy_unit(src_socket, socket_unit, NULL, NULL, NULL);
        copy_unit(src_service, service_unit, access("/usr/sbin/callroled", X_OK) == 0 ? NULL : "ExecStart=",
                  exec, NULL);

        {
                /* Man pages are not installed here; everything else counts,
                 * warnings included. */
                const char *argv[] = { "systemd-analyze", "verify", "--man=no", socket_unit, service_unit, NULL };
                r = run_capture(argv, &out);
                if (r != 0 || *out)
                        fprintf(stderr, "systemd-analyze verify (exit %d):\n%s\n", r, out);
                assert_int_equal(r, 0);
                assert_string_equal(out, "");
                free(out);
        }
        {
                const char *argv[] = { "systemd-analyze", "security", "--offline=true", "--threshold=20",
                                       service_unit, NULL };
                r = run_capture(argv, &out);
                level = exposure(out);
                fprintf(stderr, "systemd-analyze security: exposure %.1f (exit %d)\n", level, r);
                if (r != 0 || level < 0 || level > 2.0)
                        fprintf(stderr, "%s\n", out);
                assert_int_equal(r, 0);
                assert_true(level >= 0 && level <= 2.0);
                free(out);
        }
        {
                /* The same check can fail: without its sandbox the service
                 * rates far worse and --threshold refuses it. */
                static const char *const hardening[] = {
                        "NoNewPrivileges=", "CapabilityBoundingSet=", "AmbientCapabilities=", "Protect",
                        "Private", "Restrict", "SystemCall", "MemoryDenyWriteExecute=", "LockPersonality=",
                        "IPAddressDeny=", "UMask=", "DevicePolicy=", "RemoveIPC=", "KeyringMode=", "ProcSubset=",
                        NULL,
                };
                char weak_dir[192];
                const char *argv[] = { "systemd-analyze", "security", "--offline=true", "--threshold=20",
                                       weak_unit, NULL };
                snprintf(weak_dir, sizeof(weak_dir), "%s/weak", s.dir);
                assert_int_equal(mkdir(weak_dir, 0755), 0);
                copy_unit(service_unit, weak_unit, NULL, NULL, hardening);
                r = run_capture(argv, &out);
                level = exposure(out);
                fprintf(stderr, "unsandboxed copy: exposure %.1f (exit %d)\n", level, r);
                assert_true(level > 2.0);
                assert_int_not_equal(r, 0);
                free(out);
        }
        {
                /* The sysusers.d line parses and creates user callrole. */
                const char *argv[] = { "systemd-sysusers", "--dry-run", root, src_sysusers, NULL };
                char rootdir[192], etc[200];
                snprintf(rootdir, sizeof(rootdir), "%s/root", s.dir);
                snprintf(root, sizeof(root), "--root=%s", rootdir);
                snprintf(etc, sizeof(etc), "%s/etc", rootdir);
                assert_int_equal(mkdir(rootdir, 0755), 0);
                assert_int_equal(mkdir(etc, 0755), 0);
                if (have_program("systemd-sysusers")) {
                        r = run_capture(argv, &out);
                        if (r != 0)
                                fprintf(stderr, "%s\n", out);
                        assert_int_equal(r, 0);
                        assert_non_null(strstr(out, "Creating user 'callrole'"));
                        free(out);
                }
        }
        scratch_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_socket_activation, teardown),
                cmocka_unit_test_teardown(test_ready_only_with_database, teardown),
                cmocka_unit_test_teardown(test_ready_and_status, teardown),
                cmocka_unit_test_teardown(test_watchdog, teardown),
                cmocka_unit_test_teardown(test_sighup, teardown),
                cmocka_unit_test_teardown(test_sigterm, teardown),
                cmocka_unit_test_teardown(test_stale_socket, teardown),
                cmocka_unit_test_teardown(test_unit_files, teardown),
        };
        signal(SIGPIPE, SIG_IGN);
        /* TEST_FILTER=test_sighup runs one test (cmocka's glob). */
        if (getenv("TEST_FILTER"))
                cmocka_set_test_filter(getenv("TEST_FILTER"));
        return cmocka_run_group_tests_name("systemd", tests, NULL, NULL);
}
